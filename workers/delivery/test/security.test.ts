import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, describeRouteProtection, serviceSecurityTarget } from "@edgebank/auth/testing";

/** The attack list straight at the delivery service: it verifies tokens itself. */
describeAccessTokenSecurity(
  "delivery service (direct)",
  serviceSecurityTarget(env, "operator", (authorization) =>
    exports.default.fetch(
      new Request("https://delivery.internal/v1/operations/rollouts", {
        headers: authorization ? { authorization } : {},
      }),
    ),
  ),
);

describeRouteProtection("delivery service (direct)", {
  fetch: (request) => exports.default.fetch(request),
  origin: "https://delivery.internal",
  claims: () => ({
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: "usr_stranger",
    scope: "operator",
    exp: Math.floor(Date.now() / 1000) + 600,
  }),
});
