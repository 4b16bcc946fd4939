import { AppError } from "@edgebank/errors";

/** An attempt took longer than its deadline; the attempt's signal was aborted. */
export class TimeoutError extends AppError {
  constructor(downstream: string, ms: number) {
    super("dependency_timeout", `${downstream} did not answer within ${ms} ms.`);
  }
}

/** The downstream's circuit is open: the call was not attempted. */
export class CircuitOpenError extends AppError {
  constructor(downstream: string, retryAfterMs: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super("dependency_unavailable", `${downstream} is unavailable; try again later.`, {
      headers: { "retry-after": String(seconds) },
    });
  }
}

/** The downstream's bulkhead is full: too many calls in flight and waiting. */
export class BulkheadFullError extends AppError {
  constructor(downstream: string) {
    super("dependency_unavailable", `${downstream} is at capacity; try again later.`, {
      headers: { "retry-after": "1" },
    });
  }
}
