import { fullJitterDelay } from "@edgebank/resilience";

/**
 * How long a saga step keeps trying through transient failures, and the backoff between tries.
 * Before anything was credited, giving up compensates, so the hold gives up after a few tries.
 * After the credit, giving up needs a person, and the only way forward is the step itself
 * (idempotent by its operation id): those steps ride out an outage (a database failover, a
 * ledger backed up under load) for up to 15 minutes before they escalate.
 */
export const MAX_ATTEMPTS_BEFORE_CREDIT = 8;
export const RETRY_AFTER_CREDIT_FOR_MS = 15 * 60_000;
const BACKOFF = { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 200, maxDelayMs: 30_000 };

/**
 * What to do after a step's `attempts`-th transient failure in a row, the first of which was at
 * `failingSinceMs`: try again after a full-jitter backoff, or give up.
 */
export function afterTransientFailure(
  input: { compensable: boolean; attempts: number; failingSinceMs: number; nowMs: number },
  random: () => number = Math.random,
): { retryInMs: number } | "give_up" {
  const givingUp = input.compensable
    ? input.attempts >= MAX_ATTEMPTS_BEFORE_CREDIT
    : input.nowMs - input.failingSinceMs >= RETRY_AFTER_CREDIT_FOR_MS;
  if (givingUp) return "give_up";
  return { retryInMs: Math.max(fullJitterDelay(input.attempts - 1, BACKOFF, random), 10) };
}
