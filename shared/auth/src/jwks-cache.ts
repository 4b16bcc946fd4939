import { createLocalJWKSet, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from "jose";
import { VerifiedTokenCache } from "./verified-tokens.ts";

export interface JwksCacheOptions {
  /** Fetches the issuer's current JWKS (through the auth service binding). */
  fetchJwks: () => Promise<JSONWebKeySet>;
  /** How long a fetched set is used before it is refreshed. */
  ttlMs: number;
  /** Least time between two refetches caused by an unknown `kid` (a flood of forged kids cannot hammer auth). */
  unknownKidCooldownMs: number;
  /** How long an expired set is still used while the issuer cannot be reached. */
  maxStaleMs: number;
  now?: () => number;
}

type KeyResolver = ReturnType<typeof createLocalJWKSet>;

/**
 * A JWKS held in memory per isolate: fetched on first use, refreshed after its TTL, and
 * refetched early when a token names a `kid` it does not have (a new key after rotation), at
 * most once per cooldown. If the issuer is unreachable an expired set keeps serving for
 * `maxStaleMs`, so a short auth outage does not log everyone out.
 *
 * It also holds the tokens verified against its keys (`verified`), and forgets them all when
 * a refresh brings a different key set.
 */
export class JwksCache {
  #resolver: KeyResolver | undefined;
  #kids = new Set<string>();
  #keySet: string | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #lastUnknownKidFetch = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  readonly #now: () => number;

  constructor(private readonly options: JwksCacheOptions) {
    this.#now = options.now ?? Date.now;
  }

  /** How many fetches this cache has made (for tests and metrics). */
  fetches = 0;

  /** Tokens verified against this key set; cleared when the set changes. */
  readonly verified = new VerifiedTokenCache();

  /**
   * Makes sure the key set is within its TTL (refetching it if not, or serving a stale one
   * while the issuer is unreachable). Throws when no usable set can be had.
   */
  async fresh(): Promise<void> {
    const age = this.#now() - this.#fetchedAt;
    if (!this.#resolver || age >= this.options.ttlMs) await this.#refresh(age < this.options.maxStaleMs);
  }

  /** A jose key resolver: use as the key argument of `jwtVerify`. */
  readonly resolve = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    await this.fresh();
    const kid = header.kid;
    if (
      kid !== undefined &&
      !this.#kids.has(kid) &&
      this.#now() - this.#lastUnknownKidFetch >= this.options.unknownKidCooldownMs
    ) {
      this.#lastUnknownKidFetch = this.#now();
      await this.#refresh(true);
    }
    if (!this.#resolver) throw new Error("no JWKS available");
    return this.#resolver(header, token);
  };

  /** Fetches the set once even when many requests ask at the same time. */
  async #refresh(keepStaleOnError: boolean): Promise<void> {
    this.#inflight ??= (async () => {
      try {
        this.fetches += 1;
        const jwks = await this.options.fetchJwks();
        const keySet = JSON.stringify(jwks.keys);
        if (keySet !== this.#keySet) this.verified.clear();
        this.#keySet = keySet;
        this.#resolver = createLocalJWKSet(jwks);
        this.#kids = new Set(jwks.keys.map((key) => key.kid).filter((kid): kid is string => typeof kid === "string"));
        this.#fetchedAt = this.#now();
      } catch (error) {
        if (!(keepStaleOnError && this.#resolver)) throw error;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }
}
