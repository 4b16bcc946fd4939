import { isAppError } from "@edgebank/errors";
import { Bulkhead, type BulkheadOptions } from "./bulkhead.ts";
import { CircuitBreaker, type CircuitBreakerOptions } from "./circuit-breaker.ts";
import { type Clock, systemClock } from "./clock.ts";
import { CircuitOpenError, TimeoutError } from "./errors.ts";
import { RetryBudget, type RetryOptions, retry } from "./retry.ts";
import { withTimeout } from "./timeout.ts";

/** Everything that can be tuned for one downstream. */
export interface DownstreamPolicyOptions {
  /** Deadline of each attempt. */
  attemptTimeoutMs: number;
  retry: RetryOptions & { budgetRatio: number; budgetMinRetries: number; budgetWindowMs: number };
  breaker: CircuitBreakerOptions;
  bulkhead: BulkheadOptions;
  /** Which errors may be retried. Default: timeouts and errors marked `retryable`. */
  isRetryable?: (error: unknown) => boolean;
  /** Which errors count as the downstream failing. Default: all but client (4xx) AppErrors. */
  isFailure?: (error: unknown) => boolean;
}

/** Defaults for a call inside the data centre (service binding, database, Redis). */
export const defaultPolicyOptions: DownstreamPolicyOptions = {
  attemptTimeoutMs: 2_000,
  retry: {
    maxAttempts: 3,
    baseDelayMs: 50,
    maxDelayMs: 1_000,
    budgetRatio: 0.2,
    budgetMinRetries: 10,
    budgetWindowMs: 10_000,
  },
  breaker: {
    failureRateThreshold: 0.5,
    minimumCalls: 10,
    windowMs: 30_000,
    windowBuckets: 10,
    openMs: 15_000,
    halfOpenProbes: 2,
  },
  bulkhead: { maxConcurrent: 32, maxQueued: 64 },
};

/** Retryable by default: a timeout, or an error that says so itself (e.g. AppError 503). */
export function defaultIsRetryable(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return false;
  if (error instanceof TimeoutError) return true;
  return typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === true;
}

/** A failure of the downstream by default: anything but a client error it answered with. */
export function defaultIsFailure(error: unknown): boolean {
  return !(isAppError(error) && error.status >= 400 && error.status < 500 && error.status !== 429);
}

/** Deep-merges per-downstream overrides into the defaults. */
export type DownstreamPolicyOverrides = Partial<{
  [K in keyof DownstreamPolicyOptions]: DownstreamPolicyOptions[K] extends object
    ? Partial<DownstreamPolicyOptions[K]>
    : DownstreamPolicyOptions[K];
}>;

export function resolvePolicyOptions(overrides: DownstreamPolicyOverrides = {}): DownstreamPolicyOptions {
  return {
    ...defaultPolicyOptions,
    ...overrides,
    retry: { ...defaultPolicyOptions.retry, ...overrides.retry },
    breaker: { ...defaultPolicyOptions.breaker, ...overrides.breaker },
    bulkhead: { ...defaultPolicyOptions.bulkhead, ...overrides.bulkhead },
  };
}

/**
 * The resilience policy of one downstream: bulkhead ⟶ retry (full jitter, budget) ⟶ circuit
 * breaker ⟶ per-attempt timeout ⟶ the call. The breaker sits inside the retry so every attempt
 * is counted and an open circuit stops the retries at once.
 */
export class DownstreamPolicy {
  readonly breaker: CircuitBreaker;
  readonly bulkhead: Bulkhead;
  readonly #budget: RetryBudget;
  readonly #options: DownstreamPolicyOptions;

  readonly downstream: string;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(
    downstream: string,
    options: DownstreamPolicyOverrides = {},
    clock: Clock = systemClock,
    random: () => number = Math.random,
  ) {
    this.downstream = downstream;
    this.clock = clock;
    this.random = random;
    this.#options = resolvePolicyOptions(options);
    this.breaker = new CircuitBreaker(downstream, this.#options.breaker, clock);
    this.bulkhead = new Bulkhead(downstream, this.#options.bulkhead);
    const { budgetRatio, budgetMinRetries, budgetWindowMs } = this.#options.retry;
    this.#budget = new RetryBudget(
      { ratio: budgetRatio, minRetries: budgetMinRetries, windowMs: budgetWindowMs },
      clock,
    );
  }

  /** Runs `call` under the policy; `call` receives a signal that aborts at its attempt's deadline. */
  execute<T>(call: (signal: AbortSignal, attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const options = this.#options;
    const isFailure = options.isFailure ?? defaultIsFailure;
    return this.bulkhead.execute(
      () =>
        retry(
          (attempt) =>
            this.breaker.execute(
              () =>
                withTimeout((attemptSignal) => call(attemptSignal, attempt), {
                  ms: options.attemptTimeoutMs,
                  downstream: this.downstream,
                  clock: this.clock,
                  ...(signal ? { parent: signal } : {}),
                }),
              isFailure,
            ),
          {
            ...options.retry,
            isRetryable: options.isRetryable ?? defaultIsRetryable,
            clock: this.clock,
            random: this.random,
            budget: this.#budget,
            ...(signal ? { signal } : {}),
          },
        ),
      signal,
    );
  }
}

/**
 * One policy per downstream per isolate, so breaker state and budgets outlive a request.
 * Overrides given the first time a downstream is named win; later calls get the same policy.
 */
export class PolicyRegistry {
  #policies = new Map<string, DownstreamPolicy>();

  private readonly clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.clock = clock;
  }

  get(downstream: string, overrides?: DownstreamPolicyOverrides): DownstreamPolicy {
    let policy = this.#policies.get(downstream);
    if (!policy) {
      policy = new DownstreamPolicy(downstream, overrides, this.clock);
      this.#policies.set(downstream, policy);
    }
    return policy;
  }
}
