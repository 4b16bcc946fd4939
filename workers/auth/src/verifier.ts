import { JwksCache, type VerifyOptions } from "@edgebank/auth";
import { withDatabase } from "@edgebank/db";
import { authConfig } from "./config.ts";
import { importKek } from "./domain/key-encryption.ts";
import { publishedJwks } from "./domain/signing-keys.ts";
import { serviceSettings } from "./service.ts";

let cache: JwksCache | undefined;

/**
 * How the auth service verifies access tokens on its own protected routes: like every other
 * service, through a cached JWKS, except that it reads its keys from its own database.
 */
export function verifier(env: object): Omit<VerifyOptions, "requiredScopes"> {
  const config = authConfig(env);
  cache ??= new JwksCache({
    fetchJwks: async () => {
      const kek = await importKek(config.SIGNING_KEY_KEK);
      return withDatabase(serviceSettings(env), (db) => publishedJwks(db, kek));
    },
    ttlMs: config.JWKS_TTL_SECONDS * 1000,
    unknownKidCooldownMs: Math.min(10_000, config.JWKS_TTL_SECONDS * 1000),
    maxStaleMs: 3_600_000,
  });
  return { jwks: cache, issuer: config.TOKEN_ISSUER, audience: config.TOKEN_AUDIENCE };
}
