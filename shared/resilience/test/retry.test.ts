import { AppError } from "@edgebank/errors";
import { describe, expect, it } from "vitest";
import { defaultIsRetryable, fullJitterDelay, RetryBudget, retry, TimeoutError } from "../src/index.ts";
import { ManualClock } from "./manual-clock.ts";

const options = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 300 };

describe("fullJitterDelay", () => {
  it("draws uniformly below an exponentially growing, capped ceiling", () => {
    expect([0, 1, 2, 3].map((r) => fullJitterDelay(r, options, () => 0.999))).toEqual([99, 199, 299, 299]);
    expect(fullJitterDelay(5, options, () => 0)).toBe(0);
  });
});

describe("retry", () => {
  it("retries retryable failures with full-jitter backoff, then succeeds", async () => {
    const clock = new ManualClock();
    const delays: number[] = [];
    let calls = 0;
    const result = retry(
      async () => {
        calls += 1;
        if (calls < 3) throw new AppError("dependency_unavailable");
        return "ok";
      },
      { ...options, isRetryable: defaultIsRetryable, clock, random: () => 0.5, onRetry: (i) => delays.push(i.delayMs) },
    );
    await clock.advance(50);
    expect(calls).toBe(2);
    await clock.advance(100);
    expect(await result).toBe("ok");
    expect(delays).toEqual([50, 100]);
    expect(clock.now()).toBe(150);
  });

  it("stops at once on an error that is not retryable", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const failure = new AppError("unprocessable", "insufficient funds");
    await expect(
      retry(
        async () => {
          calls += 1;
          throw failure;
        },
        { ...options, isRetryable: defaultIsRetryable, clock },
      ),
    ).rejects.toBe(failure);
    expect(calls).toBe(1);
  });

  it("gives up after maxAttempts with the last error", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const result = retry(
      async () => {
        calls += 1;
        throw new TimeoutError("x", calls);
      },
      { ...options, isRetryable: defaultIsRetryable, clock, random: () => 0 },
    ).then(
      () => null,
      (e: unknown) => e,
    );
    await clock.advance(0);
    const error = await result;
    expect(calls).toBe(4);
    expect((error as Error).message).toBe("x did not answer within 4 ms.");
  });

  it("respects the retry budget across calls", async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0, minRetries: 1, windowMs: 1_000 }, clock);
    let calls = 0;
    const failing = () =>
      retry(
        async () => {
          calls += 1;
          throw new AppError("dependency_unavailable");
        },
        { ...options, isRetryable: defaultIsRetryable, clock, random: () => 0, budget },
      ).catch(() => undefined);
    await failing();
    expect(calls).toBe(2); // one retry allowed by minRetries
    await failing();
    expect(calls).toBe(3); // budget spent: no retry
    await clock.advance(1_001);
    await failing();
    expect(calls).toBe(5); // the window slid, the budget is back
  });

  it("grows the budget with traffic", () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.1, minRetries: 0, windowMs: 1_000 }, clock);
    for (let i = 0; i < 20; i++) budget.recordRequest();
    expect(budget.tryAcquireRetry()).toBe(true);
    expect(budget.tryAcquireRetry()).toBe(true);
    expect(budget.tryAcquireRetry()).toBe(false);
  });
});
