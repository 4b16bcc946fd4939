import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, describeRouteProtection, serviceSecurityTarget } from "@edgebank/auth/testing";

/** The attack list straight at the ledger service: it verifies tokens itself. */
describeAccessTokenSecurity(
  "ledger service (direct)",
  serviceSecurityTarget(env, "auditor", (authorization) =>
    exports.default.fetch(
      new Request("https://ledger.internal/v1/ledger/verify", { headers: authorization ? { authorization } : {} }),
    ),
  ),
);

describeRouteProtection("ledger service (direct)", {
  fetch: (request) => exports.default.fetch(request),
  origin: "https://ledger.internal",
  claims: () => ({
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: "usr_stranger",
    scope: "operator",
    exp: Math.floor(Date.now() / 1000) + 600,
  }),
});
