import { describe, expect, it } from "vitest";
import { JwksCache, verifyAccessToken } from "../src/index.ts";
import { audience, issuer, mint, testKey } from "./tokens.ts";

function harness(initialKeys: Awaited<ReturnType<typeof testKey>>[]) {
  let now = 0;
  let keys = initialKeys;
  let failing = false;
  const cache = new JwksCache({
    fetchJwks: async () => {
      if (failing) throw new Error("auth unreachable");
      return { keys: keys.map((k) => k.publicJwk) };
    },
    ttlMs: 300_000,
    unknownKidCooldownMs: 30_000,
    maxStaleMs: 3_600_000,
    now: () => now,
  });
  const verify = async (token: string) => verifyAccessToken(token, { jwks: cache, issuer, audience });
  return {
    cache,
    verify,
    advance: (ms: number) => {
      now += ms;
    },
    publish: (next: typeof keys) => {
      keys = next;
    },
    fail: (value: boolean) => {
      failing = value;
    },
  };
}

describe("JwksCache", () => {
  it("fetches once and serves every request from memory within the TTL", async () => {
    const key = await testKey("k1");
    const h = harness([key]);
    const token = await mint(key);
    await Promise.all(Array.from({ length: 20 }, () => h.verify(token)));
    expect(h.cache.fetches).toBe(1);
  });

  it("accepts a new key after rotation without a restart, by refetching on its unknown kid", async () => {
    const [old, next] = await Promise.all([testKey("k-old"), testKey("k-next")]);
    const h = harness([old]);
    await h.verify(await mint(old));
    h.publish([old, next]);
    await expect(h.verify(await mint(next))).resolves.toMatchObject({ subject: "usr_alice" });
    expect(h.cache.fetches).toBe(2);
  });

  it("refetches for unknown kids at most once per cooldown", async () => {
    const [known, forged] = await Promise.all([testKey("k-known"), testKey("k-forged")]);
    const h = harness([known]);
    const token = await mint(forged);
    for (let i = 0; i < 10; i++) await h.verify(token).catch(() => undefined);
    expect(h.cache.fetches).toBe(2); // first load + one refetch for the unknown kid
    h.advance(30_000);
    await h.verify(token).catch(() => undefined);
    expect(h.cache.fetches).toBe(3);
  });

  it("refreshes after the TTL, so a retired key stops working", async () => {
    const [retiring, successor] = await Promise.all([testKey("k-retiring"), testKey("k-successor")]);
    const h = harness([retiring, successor]);
    const token = await mint(retiring);
    await h.verify(token);
    h.publish([successor]);
    h.advance(300_000);
    await expect(h.verify(token)).rejects.toThrow(/unknown key/);
  });

  it("keeps serving a stale set while the issuer is unreachable, up to maxStale", async () => {
    const key = await testKey("k1");
    const h = harness([key]);
    const token = await mint(key);
    await h.verify(token);
    h.fail(true);
    h.advance(600_000);
    await expect(h.verify(token)).resolves.toBeTruthy();
    h.advance(3_600_000);
    await expect(h.verify(token)).rejects.toMatchObject({ status: 503 });
  });
});
