import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, describeRouteProtection, serviceSecurityTarget } from "@edgebank/auth/testing";

/** The attack list straight at the transfers service: it verifies tokens itself. */
describeAccessTokenSecurity(
  "transfers service (direct)",
  serviceSecurityTarget(env, "transfers:read", (authorization) =>
    exports.default.fetch(
      new Request("https://transfers.internal/v1/transfers", { headers: authorization ? { authorization } : {} }),
    ),
  ),
);

describeRouteProtection("transfers service (direct)", {
  fetch: (request) => exports.default.fetch(request),
  origin: "https://transfers.internal",
  claims: () => ({
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: "usr_stranger",
    scope: "operator",
    exp: Math.floor(Date.now() / 1000) + 600,
  }),
});
