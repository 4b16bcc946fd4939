import { env } from "cloudflare:workers";
import { describeAccessTokenSecurity } from "@edgebank/auth/testing";
import type { JWK } from "jose";
import { call, claims, currentKey, retiredKey } from "./helpers.ts";

/** The attack list straight at the accounts service: it verifies tokens itself. */
describeAccessTokenSecurity("accounts service (direct)", {
  async setup() {
    const publicJwk = { ...(JSON.parse(env.TEST_SIGNING_JWK) as JWK) };
    delete publicJwk.d;
    return {
      current: await currentKey(),
      currentPublicJwk: publicJwk,
      retired: await retiredKey(),
      validClaims: () => claims("usr_security", "accounts:read"),
      requiredScope: "accounts:read",
      issuer: env.TOKEN_ISSUER,
      audience: env.TOKEN_AUDIENCE,
    };
  },
  call: (authorization) => call("/v1/accounts", undefined, { headers: authorization ? { authorization } : {} }),
});
