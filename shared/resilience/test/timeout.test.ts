import { describe, expect, it } from "vitest";
import { TimeoutError, withTimeout } from "../src/index.ts";
import { ManualClock } from "./manual-clock.ts";

describe("withTimeout", () => {
  it("fails with TimeoutError at the deadline and aborts the attempt's signal", async () => {
    const clock = new ManualClock();
    let seen: AbortSignal | undefined;
    const result = withTimeout(
      (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      },
      { ms: 100, downstream: "accounts", clock },
    ).then(
      () => null,
      (error: unknown) => error,
    );
    await clock.advance(99);
    expect(seen?.aborted).toBe(false);
    await clock.advance(1);
    const error = await result;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).status).toBe(504);
    expect((error as TimeoutError).message).toBe("accounts did not answer within 100 ms.");
    expect(seen?.aborted).toBe(true);
  });

  it("leaves no unhandled rejection when the attempt fails after its deadline", async () => {
    const clock = new ManualClock();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      let fail: (error: Error) => void = () => {};
      const result = withTimeout(() => new Promise<never>((_, reject) => (fail = reject)), {
        ms: 10,
        downstream: "x",
        clock,
      }).then(
        () => null,
        (error: unknown) => error,
      );
      await clock.advance(10);
      expect(await result).toBeInstanceOf(TimeoutError);
      fail(new Error("connection lost, too late"));
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("returns the result and cancels its timer when the attempt is faster", async () => {
    const clock = new ManualClock();
    const value = await withTimeout(async () => 42, { ms: 100, downstream: "x", clock });
    expect(value).toBe(42);
    expect(clock.pendingSleeps).toBe(0);
  });

  it("answers with the parent's reason as soon as the parent aborts", async () => {
    const clock = new ManualClock();
    const parent = new AbortController();
    let seen: AbortSignal | undefined;
    const result = withTimeout(
      (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      },
      { ms: 100, downstream: "x", clock, parent: parent.signal },
    );
    const reason = new Error("client went away");
    parent.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(seen?.aborted).toBe(true);
    expect(clock.pendingSleeps).toBe(0);
  });
});
