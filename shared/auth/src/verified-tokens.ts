import type { JWTPayload } from "jose";

/** What a full verification established about one token, and for which verifier settings. */
interface VerifiedToken {
  payload: JWTPayload;
  issuer: string;
  audience: string;
  /** Epoch ms from which the token is expired (its `exp` plus the clock tolerance). */
  validUntilMs: number;
}

/**
 * Access tokens whose signature and claims were verified, so that a client sending the same
 * token again (a service making many calls, a customer's app) costs a map look-up instead of an
 * ECDSA verification: on a busy worker that verification was a fifth of the CPU of a request.
 *
 * An entry is recalled only for the same issuer and audience and only until the token expires;
 * scopes are still checked on every request by the caller. The owning JwksCache clears the
 * entries whenever its key set changes, so a key withdrawn from the JWKS (a compromised key)
 * stops every token it signed at the next refresh, exactly as without the cache. Only successful
 * verifications are remembered, and at most `capacity` of them (the oldest go first).
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, VerifiedToken>();
  readonly #capacity: number;
  #generation = 0;

  constructor(capacity = 4_096) {
    this.#capacity = capacity;
  }

  /** How many tokens are remembered (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /** Changes whenever the entries are cleared: a verification begun before must not be remembered. */
  get generation(): number {
    return this.#generation;
  }

  /** The verified payload of `token` for this issuer and audience, if it is remembered and not expired. */
  recall(token: string, issuer: string, audience: string, nowMs = Date.now()): JWTPayload | undefined {
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    if (nowMs >= entry.validUntilMs) {
      this.#entries.delete(token);
      return undefined;
    }
    return entry.issuer === issuer && entry.audience === audience ? entry.payload : undefined;
  }

  /**
   * Remembers a token that has just passed full verification, unless the entries were cleared
   * since that verification began (`generation` is the value read before it).
   */
  remember(token: string, entry: VerifiedToken, generation: number): void {
    if (generation !== this.#generation || this.#capacity === 0) return;
    if (this.#entries.size >= this.#capacity && !this.#entries.has(token)) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, entry);
  }

  clear(): void {
    this.#entries.clear();
    this.#generation += 1;
  }
}
