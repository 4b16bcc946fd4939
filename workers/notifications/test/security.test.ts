import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, describeRouteProtection, serviceSecurityTarget } from "@edgebank/auth/testing";

/** The attack list straight at the notifications service: it verifies tokens itself. */
describeAccessTokenSecurity(
  "notifications service (direct)",
  serviceSecurityTarget(env, "notifications:read", (authorization) =>
    exports.default.fetch(
      new Request("https://notifications.internal/v1/notifications", {
        headers: authorization ? { authorization } : {},
      }),
    ),
  ),
);

describeRouteProtection("notifications service (direct)", {
  fetch: (request) => exports.default.fetch(request),
  origin: "https://notifications.internal",
  claims: () => ({
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: "usr_stranger",
    scope: "operator",
    exp: Math.floor(Date.now() / 1000) + 600,
  }),
});
