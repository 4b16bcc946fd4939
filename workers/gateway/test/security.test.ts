import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, signToken } from "@edgebank/auth/testing";
import { claims, issuerKey, publish } from "./keys.ts";

/** The attack list against the gateway, in front of a protected route (GET /v1/accounts). */
describeAccessTokenSecurity("gateway", {
  async setup() {
    const current = await issuerKey(`current-${crypto.randomUUID()}`);
    const retired = await issuerKey(`retired-${crypto.randomUUID()}`);
    await publish([current.publicJwk, retired.publicJwk]);
    // The gateway learns both keys, then the retired one leaves the JWKS and its cache expires.
    const warm = await exports.default.fetch(
      new Request("https://api.edgebank.test/v1/accounts", {
        headers: { authorization: `Bearer ${await signToken(retired, claims())}` },
      }),
    );
    if (warm.status !== 200) throw new Error(`warm-up failed: ${warm.status}`);
    await publish([current.publicJwk]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    return {
      current,
      currentPublicJwk: current.publicJwk,
      retired,
      validClaims: () => claims(),
      requiredScope: "accounts:read",
      issuer: env.TOKEN_ISSUER,
      audience: env.TOKEN_AUDIENCE,
    };
  },
  call: (authorization) =>
    exports.default.fetch(
      new Request("https://api.edgebank.test/v1/accounts", { headers: authorization ? { authorization } : {} }),
    ),
});
