import { env } from "cloudflare:workers";
import { createLogger } from "@edgebank/http";
import { describe, expect, it } from "vitest";
import { gatewayConfig } from "../src/config.ts";
import { type IdempotencyStore, withIdempotency } from "../src/idempotency.ts";
import { redis } from "../src/redis.ts";

const config = () => gatewayConfig(env);
const log = createLogger({ service: "gateway", version: "test" }, "error");

/**
 * The real store, except that the answer to the first SET is lost: Redis applies it, the
 * gateway hears nothing within its 500 ms timeout and sends the same claim again.
 */
function losingFirstAnswer(): IdempotencyStore & { sets: number } {
  const real = redis(config());
  const store = {
    sets: 0,
    set: (async (...args: Parameters<IdempotencyStore["set"]>) => {
      store.sets += 1;
      const applied = await real.set(...args);
      if (store.sets === 1) await new Promise((resolve) => setTimeout(resolve, 800));
      return applied;
    }) as IdempotencyStore["set"],
    get: real.get.bind(real) as IdempotencyStore["get"],
    del: real.del.bind(real) as IdempotencyStore["del"],
  };
  return store;
}

describe("the Idempotency-Key fast path when Redis's answer is lost", () => {
  it("a claim retried after a lost answer recognises itself: the request runs once, not a 409", async () => {
    const scope = { principal: `usr_${crypto.randomUUID()}`, key: crypto.randomUUID(), fingerprint: "f1" };
    const store = losingFirstAnswer();
    let runs = 0;
    const run = async () => {
      runs += 1;
      return Response.json({ id: "trf_1" }, { status: 201 });
    };

    const response = await withIdempotency(config(), log, scope, run, store);
    expect(response.status).toBe(201);
    expect(runs).toBe(1);
    expect(store.sets).toBeGreaterThanOrEqual(2); // the claim was sent again after the timeout

    // The stored answer is replayed to the next attempt; the request does not run again.
    const replay = await withIdempotency(config(), log, scope, run, redis(config()));
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.json()).toEqual({ id: "trf_1" });
    expect(runs).toBe(1);
  });

  it("another request's claim is still a 409 while it runs, and a different body a 422", async () => {
    const scope = { principal: `usr_${crypto.randomUUID()}`, key: crypto.randomUUID(), fingerprint: "f1" };
    let release: () => void = () => {};
    const first = withIdempotency(
      config(),
      log,
      scope,
      () =>
        new Promise<Response>((resolve) => {
          release = () => resolve(Response.json({ ok: true }, { status: 201 }));
        }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // the first claim is in Redis
    const run = async () => Response.json({ ran: "twice" }, { status: 201 });
    await expect(withIdempotency(config(), log, scope, run)).rejects.toMatchObject({ status: 409 });
    await expect(withIdempotency(config(), log, { ...scope, fingerprint: "f2" }, run)).rejects.toMatchObject({
      status: 422,
    });
    release();
    expect((await first).status).toBe(201);
  });
});
