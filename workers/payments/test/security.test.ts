import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, describeRouteProtection, serviceSecurityTarget } from "@edgebank/auth/testing";

/** The attack list straight at the payments service: it verifies tokens itself. */
describeAccessTokenSecurity(
  "payments service (direct)",
  serviceSecurityTarget(env, "merchant:read", (authorization) =>
    exports.default.fetch(
      new Request("https://payments.internal/v1/merchants", { headers: authorization ? { authorization } : {} }),
    ),
  ),
);

describeRouteProtection("payments service (direct)", {
  fetch: (request) => exports.default.fetch(request),
  origin: "https://payments.internal",
  claims: () => ({
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: "usr_stranger",
    scope: "operator",
    exp: Math.floor(Date.now() / 1000) + 600,
  }),
});
