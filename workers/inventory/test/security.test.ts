import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, describeRouteProtection, serviceSecurityTarget } from "@edgebank/auth/testing";

/** The attack list straight at the inventory service: it verifies tokens itself. */
describeAccessTokenSecurity(
  "inventory service (direct)",
  serviceSecurityTarget(env, "merchant:write", (authorization) => {
    const headers = new Headers({ "content-type": "application/json" });
    if (authorization) headers.set("authorization", authorization);
    // A product of its own per call, in the merchant the payments stand-in says every caller owns.
    const sku = `SEC-${crypto.randomUUID().slice(0, 8).toUpperCase()}`;
    return exports.default.fetch(
      new Request("https://inventory.internal/v1/products", {
        method: "POST",
        headers,
        body: JSON.stringify({ merchantId: env.TEST_MERCHANT_ID, sku, name: "Security probe", price: "100", stock: 1 }),
      }),
    );
  }),
);

describeRouteProtection("inventory service (direct)", {
  fetch: (request) => exports.default.fetch(request),
  origin: "https://inventory.internal",
  claims: () => ({
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: "usr_stranger",
    scope: "operator",
    exp: Math.floor(Date.now() / 1000) + 600,
  }),
});
