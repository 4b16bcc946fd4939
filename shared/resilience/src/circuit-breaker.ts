import type { Clock } from "./clock.ts";
import { CircuitOpenError } from "./errors.ts";

export interface CircuitBreakerOptions {
  /** Failure rate (0..1) over the window at or above which the circuit opens. */
  failureRateThreshold: number;
  /** Calls the window must hold before the rate is trusted. */
  minimumCalls: number;
  /** Length of the sliding window. */
  windowMs: number;
  /** Buckets the window is split into; the oldest bucket slides out as time passes. */
  windowBuckets: number;
  /** How long the circuit stays open before it lets probes through. */
  openMs: number;
  /** Probe calls allowed while half-open; all must succeed to close the circuit. */
  halfOpenProbes: number;
}

export type CircuitState = "closed" | "open" | "half_open";

interface Bucket {
  start: number;
  calls: number;
  failures: number;
}

/**
 * A circuit breaker per downstream. Closed: calls pass and outcomes are counted in a sliding
 * time window; when the failure rate reaches the threshold it opens. Open: calls fail at once
 * with CircuitOpenError until `openMs` has passed. Half-open: up to `halfOpenProbes` calls go
 * through; all succeeding closes the circuit, any failure opens it again.
 */
export class CircuitBreaker {
  #state: CircuitState = "closed";
  #openedAt = 0;
  #buckets: Bucket[] = [];
  #probesInFlight = 0;
  #probeSuccesses = 0;

  readonly downstream: string;
  private readonly options: CircuitBreakerOptions;
  private readonly clock: Clock;

  constructor(downstream: string, options: CircuitBreakerOptions, clock: Clock) {
    this.downstream = downstream;
    this.options = options;
    this.clock = clock;
  }

  /** The current state, after applying the open wait. */
  get state(): CircuitState {
    if (this.#state === "open" && this.clock.now() - this.#openedAt >= this.options.openMs) {
      this.#state = "half_open";
      this.#probesInFlight = 0;
      this.#probeSuccesses = 0;
    }
    return this.#state;
  }

  /** Runs `call` through the breaker. `isFailure` decides which errors count against the downstream. */
  async execute<T>(call: () => Promise<T>, isFailure: (error: unknown) => boolean = () => true): Promise<T> {
    const state = this.state;
    if (state === "open") {
      throw new CircuitOpenError(this.downstream, this.options.openMs - (this.clock.now() - this.#openedAt));
    }
    const probe = state === "half_open";
    if (probe) {
      if (this.#probesInFlight >= this.options.halfOpenProbes) throw new CircuitOpenError(this.downstream, 1000);
      this.#probesInFlight += 1;
    }
    try {
      const result = await call();
      this.#record(true, probe);
      return result;
    } catch (error) {
      this.#record(!isFailure(error), probe);
      throw error;
    }
  }

  #record(success: boolean, probe: boolean): void {
    if (probe && this.#state === "half_open") {
      this.#probesInFlight -= 1;
      if (!success) {
        this.#open();
        return;
      }
      this.#probeSuccesses += 1;
      if (this.#probeSuccesses >= this.options.halfOpenProbes) {
        this.#state = "closed";
        this.#buckets = [];
      }
      return;
    }
    if (this.#state !== "closed") return; // a late answer from before the circuit opened
    const bucket = this.#currentBucket();
    bucket.calls += 1;
    if (!success) bucket.failures += 1;
    let calls = 0;
    let failures = 0;
    for (const b of this.#buckets) {
      calls += b.calls;
      failures += b.failures;
    }
    if (calls >= this.options.minimumCalls && failures / calls >= this.options.failureRateThreshold) this.#open();
  }

  #open(): void {
    this.#state = "open";
    this.#openedAt = this.clock.now();
    this.#buckets = [];
  }

  #currentBucket(): Bucket {
    const now = this.clock.now();
    const width = this.options.windowMs / this.options.windowBuckets;
    const start = now - (now % width);
    this.#buckets = this.#buckets.filter((b) => b.start > now - this.options.windowMs);
    let bucket = this.#buckets.at(-1);
    if (!bucket || bucket.start !== start) {
      bucket = { start, calls: 0, failures: 0 };
      this.#buckets.push(bucket);
    }
    return bucket;
  }
}
