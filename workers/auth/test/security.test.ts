import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, describeRouteProtection, type TestSigningKey } from "@edgebank/auth/testing";
import { eq, sql } from "drizzle-orm";
import type { JWK } from "jose";
import { signingKeys } from "../src/db/schema.ts";
import { decryptPrivateKey, importKek } from "../src/domain/key-encryption.ts";
import { retireExpiredKeys, rotateKeys } from "../src/domain/signing-keys.ts";
import { runKeyMaintenance } from "../src/scheduled.ts";
import { call, jwks, withAuthDb } from "./helpers.ts";

/** The issuer's own private key for `kid`, decrypted as the service does. */
async function signingKey(kid: string): Promise<TestSigningKey> {
  const [row] = await withAuthDb((db) => db.select().from(signingKeys).where(eq(signingKeys.kid, kid)));
  if (!row) throw new Error(`no key ${kid}`);
  const jwk = await decryptPrivateKey(await importKek(env.SIGNING_KEY_KEK), kid, row.privateJwkEncrypted);
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  return { kid, privateKey };
}

/** The attack list straight at the auth service, on its operator route GET /v1/auth/keys. */
describeAccessTokenSecurity("auth service (direct)", {
  async setup() {
    await runKeyMaintenance(env);
    const kek = await importKek(env.SIGNING_KEY_KEK);
    const rotated = await withAuthDb(async (db) => {
      const result = await rotateKeys(db, kek, { accessTokenTtlSeconds: 900, actor: "test", reason: "security suite" });
      await db.execute(
        sql`update auth.signing_keys set retire_after = now() - interval '1 second' where kid = ${result.previous}`,
      );
      await retireExpiredKeys(db);
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the service's JWKS cache (1 s in tests)
    const currentPublicJwk = (await jwks()).keys.find((key) => key.kid === rotated.current);
    if (!currentPublicJwk) throw new Error("current key not published");
    const now = () => Math.floor(Date.now() / 1000);
    return {
      current: await signingKey(rotated.current),
      currentPublicJwk: currentPublicJwk as JWK,
      retired: await signingKey(rotated.previous),
      validClaims: () => ({
        iss: env.TOKEN_ISSUER,
        aud: env.TOKEN_AUDIENCE,
        sub: "usr_security_operator",
        scope: "accounts:read operator",
        client_id: "edgebank-app",
        jti: crypto.randomUUID(),
        iat: now(),
        exp: now() + 900,
      }),
      requiredScope: "operator",
      issuer: env.TOKEN_ISSUER,
      audience: env.TOKEN_AUDIENCE,
    };
  },
  call: (authorization) => call("/v1/auth/keys", { headers: authorization ? { authorization } : {} }),
});

describeRouteProtection("auth service (direct)", {
  fetch: (request) => exports.default.fetch(request),
  origin: "https://auth.internal",
  claims: () => ({
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: "usr_stranger",
    scope: "operator",
    exp: Math.floor(Date.now() / 1000) + 600,
  }),
});
