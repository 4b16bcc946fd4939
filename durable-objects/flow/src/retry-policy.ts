import { fullJitterDelay } from "@edgebank/resilience";

/**
 * How long a flow's step keeps trying through transient failures, and the backoff between tries.
 * While giving up compensates (nothing moved yet that a person must undo, e.g. a transfer's
 * hold), a step gives up after a few tries. Later, giving up needs a person, and the only way
 * forward is the step itself (idempotent by its operation id): those steps ride out an outage
 * (a database failover, a ledger backed up under load) for up to 15 minutes before they escalate.
 */
export const MAX_ATTEMPTS_WHILE_COMPENSABLE = 8;
export const RETRY_AFTER_COMPENSABLE_FOR_MS = 15 * 60_000;
const BACKOFF = { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 200, maxDelayMs: 30_000 };

/**
 * What to do after a step's `attempts`-th transient failure in a row, the first of which was at
 * `failingSinceMs`: try again after a full-jitter backoff, or give up.
 */
export type RetryDecision = { retryInMs: number } | "give_up";

export function afterTransientFailure(
  input: { compensable: boolean; attempts: number; failingSinceMs: number; nowMs: number },
  random: () => number = Math.random,
): RetryDecision {
  const givingUp = input.compensable
    ? input.attempts >= MAX_ATTEMPTS_WHILE_COMPENSABLE
    : input.nowMs - input.failingSinceMs >= RETRY_AFTER_COMPENSABLE_FOR_MS;
  if (givingUp) return "give_up";
  return { retryInMs: Math.max(fullJitterDelay(input.attempts - 1, BACKOFF, random), 10) };
}
