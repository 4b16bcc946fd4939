import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, describeRouteProtection, serviceSecurityTarget } from "@edgebank/auth/testing";
import { call } from "./helpers.ts";

/** The attack list straight at the accounts service: it verifies tokens itself. */
describeAccessTokenSecurity(
  "accounts service (direct)",
  serviceSecurityTarget(env, "accounts:read", (authorization) =>
    call("/v1/accounts", undefined, { headers: authorization ? { authorization } : {} }),
  ),
);

describeRouteProtection("accounts service (direct)", {
  fetch: (request) => exports.default.fetch(request),
  origin: "https://accounts.internal",
  claims: () => ({
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: "usr_stranger",
    scope: "operator",
    exp: Math.floor(Date.now() / 1000) + 600,
  }),
});
