import { randomUUID } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedBackend, type RedisBackend, redisBackend, translateScript } from "../backend.ts";
import { startUpstashRestServer, type UpstashRestServer } from "../server.ts";

/** The embedded engine always; a real Redis as well when REDIS_URL is set (CI sets it). */
const backends: Array<[string, () => RedisBackend]> = [["embedded", embeddedBackend]];
if (process.env.REDIS_URL) {
  const redisUrl = process.env.REDIS_URL;
  backends.push(["redis", () => redisBackend(redisUrl)]);
}

describe("translateScript", () => {
  const source = "#!lua flags=allow-key-locking,no-writes\nreturn 1";
  it("keeps only the flags Redis knows, and no shebang for the embedded VM", () => {
    expect(translateScript(source, "redis")).toBe("#!lua flags=no-writes\nreturn 1");
    expect(translateScript("#!lua flags=allow-key-locking\nreturn 1", "redis")).toBe("#!lua\nreturn 1");
    expect(translateScript(source, "embedded")).toBe("\nreturn 1");
    expect(translateScript("return 1", "redis")).toBe("return 1");
  });
});

describe.each(backends)("Upstash REST endpoint over %s", (_, makeBackend) => {
  let server: UpstashRestServer;
  let redis: Redis;
  const key = (name: string) => `conformance:${randomUUID()}:${name}`;

  beforeAll(async () => {
    server = await startUpstashRestServer({ backend: makeBackend(), token: "test-token" });
    redis = new Redis({ url: server.url, token: server.token, retry: false });
  });
  afterAll(() => server.close());

  describe("with @upstash/redis", () => {
    it("runs string commands with expiry", async () => {
      const k = key("s");
      expect(await redis.set(k, "v1", { px: 60_000 })).toBe("OK");
      expect(await redis.get(k)).toBe("v1");
      expect(await redis.pttl(k)).toBeGreaterThan(59_000);
      expect(await redis.set(k, "v2", { nx: true })).toBeNull();
      expect(await redis.incr(key("n"))).toBe(1);
      expect(await redis.del(k)).toBe(1);
      expect(await redis.get(k)).toBeNull();
    });

    it("round-trips unicode and JSON values through base64 encoding", async () => {
      const k = key("u");
      await redis.set(k, 'héllo ✓ "quoted" OK');
      expect(await redis.get(k)).toBe('héllo ✓ "quoted" OK');
      const j = key("j");
      await redis.set(j, { amount: "1050", currency: "EUR", nested: [1, 2] });
      expect(await redis.get(j)).toEqual({ amount: "1050", currency: "EUR", nested: [1, 2] });
    });

    it("works without base64 encoding too", async () => {
      const plain = new Redis({ url: server.url, token: server.token, retry: false, responseEncoding: false });
      const k = key("plain");
      await plain.set(k, "héllo");
      expect(await plain.get(k)).toBe("héllo");
    });

    it("runs hashes and sorted sets", async () => {
      const h = key("h");
      await redis.hset(h, { a: "1", b: "2" });
      expect(await redis.hgetall(h)).toEqual({ a: 1, b: 2 });
      const z = key("z");
      await redis.zadd(z, { score: 2, member: "two" }, { score: 1, member: "one" });
      expect(await redis.zrange(z, 0, -1)).toEqual(["one", "two"]);
    });

    it("runs a pipeline, one result per command", async () => {
      const k = key("p");
      const results = await redis.pipeline().set(k, "1").incr(k).get(k).exec();
      expect(results).toEqual(["OK", 2, 2]);
    });

    it("runs MULTI/EXEC as a transaction", async () => {
      const k = key("m");
      const results = await redis.multi().set(k, "10").incrby(k, 5).get(k).exec();
      expect(results).toEqual(["OK", 15, 15]);
    });

    it("reports Redis errors as errors", async () => {
      await expect(redis.eval("error('insufficient funds')", [], [])).rejects.toThrow(/insufficient funds/);
    });

    it("loads and runs Lua scripts by hash", async () => {
      const source = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
      const sha = await redis.scriptLoad(source);
      expect(sha).toMatch(/^[0-9a-f]{40}$/);
      const k = key("lua");
      expect(await redis.evalsha(sha, [k], ["7"])).toBe(7);
      expect(await redis.eval(source, [k], ["3"])).toBe(10);
      await expect(redis.evalsha("0".repeat(40), [k], [])).rejects.toThrow(/NOSCRIPT/);
    });

    it("refuses a wrong token", async () => {
      const intruder = new Redis({ url: server.url, token: "wrong", retry: false });
      await expect(intruder.get(key("x"))).rejects.toThrow(/Unauthorized/);
    });
  });

  // The algorithms the gateway uses. (tokenBucket needs Redis's nil-to-false conversion inside
  // Lua tables, which the embedded VM lacks: use it only against a real Redis.)
  describe("with @upstash/ratelimit", () => {
    it.each([
      ["fixed window", Ratelimit.fixedWindow(5, "10 s")],
      ["sliding window", Ratelimit.slidingWindow(5, "10 s")],
    ])("%s lets 5 calls through and limits the 6th", async (_, limiter) => {
      const ratelimit = new Ratelimit({ redis, limiter, prefix: key("rl"), ephemeralCache: false });
      // Both algorithms cut time into 10 s windows from the epoch: six calls that straddle a
      // window's end see a fresh (or a weighted previous) window, so start well inside one.
      const intoWindow = Date.now() % 10_000;
      if (intoWindow > 7_000) await new Promise((r) => setTimeout(r, 10_050 - intoWindow));
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await ratelimit.limit("client-1"));
      expect(results.slice(0, 5).every((r) => r.success)).toBe(true);
      expect(results.map((r) => r.remaining).slice(0, 5)).toEqual([4, 3, 2, 1, 0]);
      expect(results[5]?.success).toBe(false);
      expect(results[5]?.reset).toBeGreaterThan(Date.now());
      expect((await ratelimit.limit("client-2")).success).toBe(true); // limits are per identifier
    });
  });

  describe("the REST protocol itself", () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}`, ...headers },
        body: JSON.stringify(body),
      });

    it("answers {result} and base64-encodes strings on request, except OK", async () => {
      expect(await (await post("/", ["PING"])).json()).toEqual({ result: "PONG" });
      expect(await (await post("/", ["PING"], { "upstash-encoding": "base64" })).json()).toEqual({
        result: Buffer.from("PONG").toString("base64"),
      });
      expect(await (await post("/", ["SET", key("ok"), "v"], { "upstash-encoding": "base64" })).json()).toEqual({
        result: "OK",
      });
    });

    it("accepts commands in the path, with the body as last argument", async () => {
      const k = key("path");
      const set = await fetch(`${server.url}/set/${encodeURIComponent(k)}`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}` },
        body: "from body",
      });
      expect(await set.json()).toEqual({ result: "OK" });
      const get = await fetch(`${server.url}/get/${encodeURIComponent(k)}?_token=${server.token}`);
      expect(await get.json()).toEqual({ result: "from body" });
    });

    it("answers a failed command with 400 {error}, and a pipeline with one reply per command", async () => {
      const failed = await post("/", ["NOSUCHCOMMAND"]);
      expect(failed.status).toBe(400);
      expect(((await failed.json()) as { error: string }).error).toMatch(/ERR unknown command/i);
      const k = key("pl");
      const pipeline = await post("/pipeline", [["SET", k, "x"], ["NOSUCHCOMMAND"], ["GET", k]]);
      const replies = (await pipeline.json()) as Array<{ result?: unknown; error?: string }>;
      expect(replies[0]).toEqual({ result: "OK" });
      expect(replies[1]?.error).toMatch(/unknown command/i);
      expect(replies[2]).toEqual({ result: "x" });
    });

    it("rejects malformed requests and missing credentials", async () => {
      expect((await post("/", { not: "an array" })).status).toBe(400);
      expect((await post("/pipeline", [["GET", { nested: true }]])).status).toBe(400);
      expect((await fetch(`${server.url}/`, { method: "POST", body: '["PING"]' })).status).toBe(401);
    });
  });
});
