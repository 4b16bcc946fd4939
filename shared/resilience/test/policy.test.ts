import { AppError } from "@edgebank/errors";
import { describe, expect, it } from "vitest";
import {
  CircuitOpenError,
  DownstreamPolicy,
  PolicyRegistry,
  resolvePolicyOptions,
  TimeoutError,
} from "../src/index.ts";
import { ManualClock } from "./manual-clock.ts";

describe("DownstreamPolicy", () => {
  it("times out each attempt and retries it", async () => {
    const clock = new ManualClock();
    const policy = new DownstreamPolicy(
      "auth",
      { attemptTimeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 10 } },
      clock,
      () => 0,
    );
    let attempts = 0;
    const result = policy.execute(async (signal, attempt) => {
      attempts = attempt;
      if (attempt === 1)
        return new Promise<string>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
      return "second time lucky";
    });
    await clock.advance(100);
    expect(await result).toBe("second time lucky");
    expect(attempts).toBe(2);
  });

  it("stops retrying as soon as the circuit opens", async () => {
    const clock = new ManualClock();
    const policy = new DownstreamPolicy(
      "ledger",
      { retry: { maxAttempts: 5 }, breaker: { minimumCalls: 2, failureRateThreshold: 1 } },
      clock,
      () => 0,
    );
    let calls = 0;
    const result = policy
      .execute(async () => {
        calls += 1;
        throw new AppError("dependency_unavailable");
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    await clock.advance(0);
    expect(await result).toBeInstanceOf(CircuitOpenError);
    expect(calls).toBe(2);
    expect(policy.breaker.state).toBe("open");
  });

  it("neither retries nor trips on client errors", async () => {
    const policy = new DownstreamPolicy("accounts", { breaker: { minimumCalls: 1 } }, new ManualClock());
    let calls = 0;
    await policy
      .execute(async () => {
        calls += 1;
        throw new AppError("unprocessable");
      })
      .catch(() => undefined);
    expect(calls).toBe(1);
    expect(policy.breaker.state).toBe("closed");
  });

  it("merges overrides into the defaults per downstream", () => {
    const options = resolvePolicyOptions({ retry: { maxAttempts: 1 } });
    expect(options.retry.maxAttempts).toBe(1);
    expect(options.retry.baseDelayMs).toBe(50);
    expect(options.breaker.openMs).toBe(15_000);
  });

  it("keeps one policy per downstream in a registry", () => {
    const registry = new PolicyRegistry(new ManualClock());
    expect(registry.get("kafka")).toBe(registry.get("kafka"));
    expect(registry.get("kafka")).not.toBe(registry.get("redis"));
  });

  it("reports a timeout as 504 dependency_timeout", () => {
    expect(new TimeoutError("kafka", 5).code).toBe("dependency_timeout");
  });
});
