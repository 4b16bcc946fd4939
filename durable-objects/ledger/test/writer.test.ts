import { describe, expect, it } from "vitest";
import { ChainWriter } from "../src/writer.ts";

/** A store whose commits the test releases one by one, recording each batch it was given. */
function gatedStore() {
  const batches: number[][] = [];
  const gates: Array<() => void> = [];
  let failNext: Error | undefined;
  const append = async (batch: number[]) => {
    batches.push(batch);
    await new Promise<void>((resolve) => gates.push(resolve));
    if (failNext) {
      const error = failNext;
      failNext = undefined;
      throw error;
    }
    return batch.map((n) => n * 10);
  };
  const release = async () => {
    while (gates.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    gates.shift()?.();
  };
  return { batches, append, release, fail: (error: Error) => (failNext = error) };
}

describe("ChainWriter", () => {
  it("commits the first append alone and everything that queued during that commit as one batch", async () => {
    const store = gatedStore();
    const writer = new ChainWriter(store.append);
    const first = writer.submit(1);
    const rest = [2, 3, 4, 5].map((n) => writer.submit(n));
    await store.release();
    await store.release();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50]);
    expect(store.batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  it("caps a batch, keeping the arrival order across batches", async () => {
    const store = gatedStore();
    const writer = new ChainWriter(store.append, 2);
    const all = [1, 2, 3, 4, 5].map((n) => writer.submit(n));
    for (let batch = 0; batch < 3; batch++) await store.release();
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50]);
    expect(store.batches).toEqual([[1], [2, 3], [4, 5]]);
  });

  it("fails every append of a failed batch, and the next batch goes on", async () => {
    const store = gatedStore();
    const writer = new ChainWriter(store.append);
    const first = writer.submit(1);
    const second = [writer.submit(2), writer.submit(3)];
    store.fail(new Error("lock timeout"));
    await store.release();
    await expect(first).rejects.toThrow("lock timeout");
    await store.release();
    expect(await Promise.all(second)).toEqual([20, 30]);
  });

  it("refuses a store that answers fewer outcomes than it was given appends", async () => {
    const writer = new ChainWriter(async (batch: number[]) => batch.slice(1));
    await expect(Promise.all([writer.submit(1), writer.submit(2)])).rejects.toThrow(/answered 0 outcomes/);
  });
});
