import { describe, expect, it } from "vitest";
import { Bulkhead, BulkheadFullError } from "../src/index.ts";
import { settle } from "./manual-clock.ts";

function gate() {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe("Bulkhead", () => {
  it("limits concurrency, queues up to the limit, refuses beyond it, serves FIFO", async () => {
    const bulkhead = new Bulkhead("kafka", { maxConcurrent: 2, maxQueued: 2 });
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const calls = gates.map((g, i) =>
      bulkhead.execute(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    const refused = bulkhead
      .execute(async () => "never")
      .then(
        () => null,
        (e: unknown) => e,
      );
    await settle();
    expect(started).toEqual([0, 1]);
    expect(bulkhead.active).toBe(2);
    expect(bulkhead.queued).toBe(2);
    expect(await refused).toBeInstanceOf(BulkheadFullError);

    gates[1]?.open();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    gates[0]?.open();
    gates[2]?.open();
    gates[3]?.open();
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3]);
    expect(bulkhead.active).toBe(0);
  });

  it("releases the slot when the call fails", async () => {
    const bulkhead = new Bulkhead("kafka", { maxConcurrent: 1, maxQueued: 0 });
    await bulkhead.execute(() => Promise.reject(new Error("x"))).catch(() => undefined);
    expect(await bulkhead.execute(async () => "free")).toBe("free");
  });

  it("drops a queued call whose signal aborts", async () => {
    const bulkhead = new Bulkhead("kafka", { maxConcurrent: 1, maxQueued: 1 });
    const hold = gate();
    const first = bulkhead.execute(() => hold.promise);
    const controller = new AbortController();
    const queued = bulkhead
      .execute(async () => "ran", controller.signal)
      .then(
        () => "ran",
        () => "aborted",
      );
    controller.abort(new Error("gone"));
    expect(await queued).toBe("aborted");
    expect(bulkhead.queued).toBe(0);
    hold.open();
    await first;
    expect(bulkhead.active).toBe(0);
  });

  it("refuses a call that waited longer than maxQueueWaitMs, and frees its place in the queue", async () => {
    const bulkhead = new Bulkhead("slow", { maxConcurrent: 1, maxQueued: 1, maxQueueWaitMs: 20 });
    const busy = gate();
    const first = bulkhead.execute(() => busy.promise);
    const waited = await bulkhead
      .execute(async () => "served")
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(waited).toBeInstanceOf(BulkheadFullError);
    expect(bulkhead.queued).toBe(0);
    busy.open();
    await first;
    expect(await bulkhead.execute(async () => "next")).toBe("next");
    expect(bulkhead.active).toBe(0);
  });
});
