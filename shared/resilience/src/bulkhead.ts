import { BulkheadFullError } from "./errors.ts";

export interface BulkheadOptions {
  /** Calls allowed in flight at once. */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot; beyond that a call is refused at once. */
  maxQueued: number;
  /**
   * How long a call may wait for a slot before it is refused. The wait is a timer of the
   * waiting request's own: in workerd a request that only waits for another request to release
   * a slot has no I/O of its own and is cancelled as hung.
   */
  maxQueueWaitMs?: number;
}

const DEFAULT_QUEUE_WAIT_MS = 10_000;

/**
 * Limits concurrent calls to one downstream so a slow dependency cannot take every connection
 * or request slot of the worker. Waiting calls are served first-in, first-out.
 */
export class Bulkhead {
  #active = 0;
  #queue: Array<() => void> = [];

  readonly downstream: string;
  private readonly options: BulkheadOptions;

  constructor(downstream: string, options: BulkheadOptions) {
    this.downstream = downstream;
    this.options = options;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  async execute<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await call();
    } finally {
      this.#release();
    }
  }

  #acquire(signal?: AbortSignal): Promise<void> {
    if (this.#active < this.options.maxConcurrent) {
      this.#active += 1;
      return Promise.resolve();
    }
    if (this.#queue.length >= this.options.maxQueued) return Promise.reject(new BulkheadFullError(this.downstream));
    return new Promise<void>((resolve, reject) => {
      const leave = (reason: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#queue = this.#queue.filter((waiter) => waiter !== grant);
        reject(reason);
      };
      const grant = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => leave(signal?.reason);
      const timer = setTimeout(
        () => leave(new BulkheadFullError(this.downstream)),
        this.options.maxQueueWaitMs ?? DEFAULT_QUEUE_WAIT_MS,
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(grant);
    });
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next)
      next(); // the slot passes straight to the next waiter
    else this.#active -= 1;
  }
}
