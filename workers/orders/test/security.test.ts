import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, describeRouteProtection, serviceSecurityTarget } from "@edgebank/auth/testing";

/** The attack list straight at the orders service: it verifies tokens itself. */
describeAccessTokenSecurity(
  "orders service (direct)",
  serviceSecurityTarget(env, "orders:read", (authorization) =>
    exports.default.fetch(
      new Request("https://orders.internal/v1/orders", { headers: authorization ? { authorization } : {} }),
    ),
  ),
);

describeRouteProtection("orders service (direct)", {
  fetch: (request) => exports.default.fetch(request),
  origin: "https://orders.internal",
  claims: () => ({
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: "usr_stranger",
    scope: "operator",
    exp: Math.floor(Date.now() / 1000) + 600,
  }),
});
