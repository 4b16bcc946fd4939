import type { Clock } from "./clock.ts";

export interface RetryOptions {
  /** Attempts in all, the first included (1 = no retry). */
  maxAttempts: number;
  /** Cap of the backoff before jitter for the first retry; doubles on each further retry. */
  baseDelayMs: number;
  /** Upper bound of any backoff. */
  maxDelayMs: number;
}

/**
 * Caps retries to a fraction of recent traffic so a failing downstream is not hammered by a
 * retry storm (the gRPC/Finagle retry budget): within `windowMs`, retries may be at most
 * `minRetries + ratio × requests`.
 */
export class RetryBudget {
  #requests: number[] = [];
  #retries: number[] = [];

  private readonly options: { ratio: number; minRetries: number; windowMs: number };
  private readonly clock: Clock;

  constructor(options: { ratio: number; minRetries: number; windowMs: number }, clock: Clock) {
    this.options = options;
    this.clock = clock;
  }

  /** Records a first attempt. */
  recordRequest(): void {
    this.#requests.push(this.clock.now());
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryAcquireRetry(): boolean {
    const now = this.clock.now();
    const since = now - this.options.windowMs;
    this.#requests = this.#requests.filter((t) => t > since);
    this.#retries = this.#retries.filter((t) => t > since);
    const allowed = this.options.minRetries + this.options.ratio * this.#requests.length;
    if (this.#retries.length + 1 > allowed) return false;
    this.#retries.push(now);
    return true;
  }
}

/** Exponential backoff with full jitter: a uniform draw in [0, min(max, base × 2^retry)). */
export function fullJitterDelay(retry: number, options: RetryOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/**
 * Runs `attempt` until it succeeds, fails with an error `isRetryable` rejects, runs out of
 * attempts, or the budget refuses a retry; the last error is rethrown.
 */
export async function retry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: RetryOptions & {
    isRetryable: (error: unknown) => boolean;
    clock: Clock;
    random?: () => number;
    budget?: RetryBudget;
    signal?: AbortSignal;
    onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  },
): Promise<T> {
  const random = options.random ?? Math.random;
  options.budget?.recordRequest();
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      const last = attemptNumber >= options.maxAttempts;
      if (last || options.signal?.aborted || !options.isRetryable(error)) throw error;
      if (options.budget && !options.budget.tryAcquireRetry()) throw error;
      const delayMs = fullJitterDelay(attemptNumber - 1, options, random);
      options.onRetry?.({ attempt: attemptNumber, delayMs, error });
      await options.clock.sleep(delayMs, options.signal);
    }
  }
}
