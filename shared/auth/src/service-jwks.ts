import type { JSONWebKeySet } from "jose";
import { JwksCache } from "./jwks-cache.ts";

/** Something with `fetch`: a service binding to the auth service. */
export interface AuthBinding {
  fetch(request: Request): Promise<Response>;
}

/**
 * A JWKS cache fed by the auth service through its service binding (no public network hop).
 * Keep one per isolate: the binding object of the first request serves them all.
 */
export function jwksFromAuthService(
  binding: AuthBinding,
  options: { ttlMs?: number; unknownKidCooldownMs?: number; maxStaleMs?: number } = {},
): JwksCache {
  return new JwksCache({
    fetchJwks: async () => {
      const response = await binding.fetch(new Request("https://auth.internal/.well-known/jwks.json"));
      if (!response.ok) throw new Error(`auth answered ${response.status} for its JWKS`);
      const body = (await response.json()) as JSONWebKeySet;
      if (!Array.isArray(body.keys)) throw new Error("auth answered a JWKS without keys");
      return body;
    },
    ttlMs: options.ttlMs ?? 300_000,
    unknownKidCooldownMs: options.unknownKidCooldownMs ?? 30_000,
    maxStaleMs: options.maxStaleMs ?? 3_600_000,
  });
}
