import { describe, expect, it } from "vitest";
import {
  afterTransientFailure,
  MAX_ATTEMPTS_WHILE_COMPENSABLE,
  RETRY_AFTER_COMPENSABLE_FOR_MS,
} from "../src/retry-policy.ts";

const start = Date.parse("2026-12-02T10:00:00Z");

describe("a flow step's retries through transient failures", () => {
  it("the hold gives up after a few tries (nothing was credited: the saga compensates)", () => {
    const at = (attempts: number) =>
      afterTransientFailure({ compensable: true, attempts, failingSinceMs: start, nowMs: start + 1_000 });
    expect(at(MAX_ATTEMPTS_WHILE_COMPENSABLE - 1)).not.toBe("give_up");
    expect(at(MAX_ATTEMPTS_WHILE_COMPENSABLE)).toBe("give_up");
  });

  it("a step after the credit rides out an outage by time, not by count, then escalates", () => {
    const at = (attempts: number, elapsedMs: number) =>
      afterTransientFailure({ compensable: false, attempts, failingSinceMs: start, nowMs: start + elapsedMs });
    // Many fast failures within minutes (a ledger backed up under load) do not need a person.
    expect(at(100, 3 * 60_000)).not.toBe("give_up");
    expect(at(5, RETRY_AFTER_COMPENSABLE_FOR_MS - 1)).not.toBe("give_up");
    expect(at(5, RETRY_AFTER_COMPENSABLE_FOR_MS)).toBe("give_up");
  });

  it("backs off with full jitter, doubling from 200 ms up to 30 s, never sooner than 10 ms", () => {
    const delay = (attempts: number, random: number) => {
      const decision = afterTransientFailure(
        { compensable: false, attempts, failingSinceMs: start, nowMs: start },
        () => random,
      );
      return decision === "give_up" ? -1 : decision.retryInMs;
    };
    expect(delay(1, 0.999_999)).toBe(199);
    expect(delay(3, 0.5)).toBe(400);
    expect(delay(40, 0.999_999)).toBe(29_999);
    expect(delay(1, 0)).toBe(10);
  });
});
