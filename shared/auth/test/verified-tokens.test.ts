import { afterEach, describe, expect, it, vi } from "vitest";
import { JwksCache, verifyAccessToken } from "../src/index.ts";
import { VerifiedTokenCache } from "../src/verified-tokens.ts";
import { audience, claims, issuer, mint, type TestKey, testKey } from "./tokens.ts";

function harness(initialKeys: TestKey[]) {
  let keys = initialKeys;
  const jwks = new JwksCache({
    fetchJwks: async () => ({ keys: keys.map((k) => k.publicJwk) }),
    ttlMs: 300_000,
    unknownKidCooldownMs: 30_000,
    maxStaleMs: 3_600_000,
  });
  // Every ECDSA verification jose makes goes through WebCrypto.
  const signatureChecks = vi.spyOn(crypto.subtle, "verify");
  return {
    jwks,
    signatureChecks,
    verify: (token: string, options: { requiredScopes?: ["operator"]; audience?: string } = {}) =>
      verifyAccessToken(token, { jwks, issuer, audience, ...options }),
    publish: (next: TestKey[]) => {
      keys = next;
    },
  };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("verified tokens", () => {
  it("checks a token's signature once, then recalls it", async () => {
    const key = await testKey("k1");
    const h = harness([key]);
    const token = await mint(key);
    const first = await h.verify(token);
    for (let i = 0; i < 20; i++) expect(await h.verify(token)).toEqual(first);
    expect(h.signatureChecks).toHaveBeenCalledTimes(1);
    expect(h.jwks.verified.size).toBe(1);
  });

  it("still checks the required scopes of a recalled token", async () => {
    const key = await testKey("k1");
    const h = harness([key]);
    const token = await mint(key);
    await h.verify(token);
    await expect(h.verify(token, { requiredScopes: ["operator"] })).rejects.toMatchObject({ status: 403 });
    expect(h.signatureChecks).toHaveBeenCalledTimes(1);
  });

  it("refuses a recalled token once it has expired (beyond the skew)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const key = await testKey("k1");
    const h = harness([key]);
    const now = Math.floor(Date.now() / 1000);
    const token = await mint(key, claims({ iat: now, exp: now + 60 }));
    await h.verify(token);
    vi.setSystemTime((now + 60 + 29) * 1000);
    await expect(h.verify(token)).resolves.toBeTruthy();
    vi.setSystemTime((now + 60 + 31) * 1000);
    await expect(h.verify(token)).rejects.toMatchObject({ status: 401, message: /expired/ });
    expect(h.jwks.verified.size).toBe(0);
  });

  it("forgets every token when the key set changes, so a withdrawn key stops its tokens", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const [compromised, successor] = await Promise.all([testKey("k-compromised"), testKey("k-successor")]);
    const h = harness([compromised, successor]);
    const stolen = await mint(compromised);
    const honest = await mint(successor);
    await h.verify(stolen);
    await h.verify(honest);
    h.publish([successor]);
    vi.setSystemTime(Date.now() + 300_000); // the JWKS TTL
    await expect(h.verify(stolen)).rejects.toMatchObject({ status: 401, message: /unknown key/ });
    await expect(h.verify(honest)).resolves.toMatchObject({ subject: "usr_alice" });
    expect(h.signatureChecks).toHaveBeenCalledTimes(3); // the honest token was verified again
  });

  it("keeps the tokens when a refresh brings the same keys", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const key = await testKey("k1");
    const h = harness([key]);
    const token = await mint(key);
    await h.verify(token);
    vi.setSystemTime(Date.now() + 300_000);
    await h.verify(token);
    expect(h.jwks.fetches).toBe(2);
    expect(h.signatureChecks).toHaveBeenCalledTimes(1);
  });

  it("recalls a token only for the issuer and audience it was verified for", async () => {
    const key = await testKey("k1");
    const h = harness([key]);
    const token = await mint(key);
    await h.verify(token);
    await expect(h.verify(token, { audience: "another-api" })).rejects.toMatchObject({
      status: 401,
      message: /claim aud/,
    });
  });

  it("does not remember a token that failed", async () => {
    const [known, forged] = await Promise.all([testKey("k1"), testKey("k-forged")]);
    const h = harness([known]);
    const token = await mint(forged);
    await expect(h.verify(token)).rejects.toMatchObject({ status: 401 });
    expect(h.jwks.verified.size).toBe(0);
  });
});

describe("VerifiedTokenCache", () => {
  const entry = (validUntilMs = Number.POSITIVE_INFINITY) => ({
    payload: { sub: "x" },
    issuer,
    audience,
    validUntilMs,
  });

  it("holds at most its capacity, dropping the oldest", () => {
    const cache = new VerifiedTokenCache(3);
    for (const token of ["a", "b", "c", "d"]) cache.remember(token, entry(), cache.generation);
    expect(cache.size).toBe(3);
    expect(cache.recall("a", issuer, audience)).toBeUndefined();
    expect(cache.recall("d", issuer, audience)).toEqual({ sub: "x" });
  });

  it("ignores a verification that began before the entries were cleared", () => {
    const cache = new VerifiedTokenCache();
    const before = cache.generation;
    cache.clear();
    cache.remember("a", entry(), before);
    expect(cache.recall("a", issuer, audience)).toBeUndefined();
  });
});
