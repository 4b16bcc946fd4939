import { AppError } from "@edgebank/errors";
import { describe, expect, it } from "vitest";
import { CircuitBreaker, CircuitOpenError } from "../src/index.ts";
import { ManualClock } from "./manual-clock.ts";

const options = {
  failureRateThreshold: 0.5,
  minimumCalls: 4,
  windowMs: 10_000,
  windowBuckets: 10,
  openMs: 5_000,
  halfOpenProbes: 2,
};
const ok = () => Promise.resolve("ok");
const fail = () => Promise.reject(new Error("down"));
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => e,
  );

describe("CircuitBreaker", () => {
  it("opens when the failure rate over the window reaches the threshold", async () => {
    const breaker = new CircuitBreaker("ledger", options, new ManualClock());
    await outcome(breaker.execute(ok));
    await outcome(breaker.execute(fail));
    await outcome(breaker.execute(ok));
    expect(breaker.state).toBe("closed"); // 3 calls: below minimumCalls
    await outcome(breaker.execute(fail));
    expect(breaker.state).toBe("open"); // 2 of 4 failed
  });

  it("fails fast while open without calling the downstream", async () => {
    const breaker = new CircuitBreaker("ledger", { ...options, minimumCalls: 1 }, new ManualClock());
    await outcome(breaker.execute(fail));
    let called = false;
    const error = await outcome(
      breaker.execute(async () => {
        called = true;
      }),
    );
    expect(called).toBe(false);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).headers["retry-after"]).toBe("5");
  });

  it("lets a limited number of probes through after the open wait and closes when they succeed", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker("ledger", { ...options, minimumCalls: 1 }, clock);
    await outcome(breaker.execute(fail));
    await clock.advance(5_000);
    expect(breaker.state).toBe("half_open");
    let release: () => void = () => {};
    const slow = () => new Promise<string>((resolve) => (release = () => resolve("ok")));
    const first = breaker.execute(slow);
    const second = breaker.execute(ok);
    expect(await outcome(breaker.execute(ok))).toBeInstanceOf(CircuitOpenError); // third probe refused
    await second;
    expect(breaker.state).toBe("half_open");
    release();
    await first;
    expect(breaker.state).toBe("closed");
  });

  it("opens again when a probe fails", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker("ledger", { ...options, minimumCalls: 1 }, clock);
    await outcome(breaker.execute(fail));
    await clock.advance(5_000);
    await outcome(breaker.execute(fail));
    expect(breaker.state).toBe("open");
    await clock.advance(4_999);
    expect(breaker.state).toBe("open");
    await clock.advance(1);
    expect(breaker.state).toBe("half_open");
  });

  it("forgets failures that slid out of the window", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker("ledger", options, clock);
    await outcome(breaker.execute(fail));
    await outcome(breaker.execute(fail));
    await clock.advance(10_000);
    await outcome(breaker.execute(ok));
    await outcome(breaker.execute(ok));
    await outcome(breaker.execute(ok));
    await outcome(breaker.execute(fail));
    expect(breaker.state).toBe("closed"); // 1 of 4 in the window
  });

  it("does not count errors the caller says are not the downstream's fault", async () => {
    const breaker = new CircuitBreaker("accounts", { ...options, minimumCalls: 1 }, new ManualClock());
    const business = () => Promise.reject(new AppError("unprocessable", "insufficient funds"));
    await outcome(breaker.execute(business, () => false));
    expect(breaker.state).toBe("closed");
  });
});
