import { BulkheadFullError, CircuitOpenError, PolicyRegistry } from "@edgebank/resilience";
import { currentTraceparent, withSpan } from "@edgebank/telemetry";
import { TransientFailure } from "./transient.ts";

/** One resilience policy per callee per isolate: breaker state and retry budget outlive a call. */
const policies = new PolicyRegistry();

/**
 * Every internal RPC goes through here: a client span (the callee's server span nests under it
 * through the `traceparent` that `call` is handed), the shared resilience policy of the callee
 * (a deadline per attempt, a retry of what threw, a breaker and a bulkhead) and one kind of
 * failure for the caller: a TransientFailure, after which the same call may be made again.
 * Internal methods are safe to retry: reads, or operations idempotent by their id. What the
 * callee answers, refusals included, is a result, never retried here.
 */
export function callRpc<R extends { status: string }>(
  service: string,
  method: string,
  call: (traceparent: string | undefined) => Promise<R>,
): Promise<R> {
  const policy = policies.get(service, {
    attemptTimeoutMs: 5_000,
    retry: { maxAttempts: 2 },
    // No queue: the policy is shared by every Durable Object of the isolate (the saga and flow
    // objects call from theirs), and a waiter queued by one object cannot be woken from
    // another's I/O context ("Cannot perform I/O on behalf of a different Durable Object").
    // Beyond the limit a call fails at once as transient, and the flow retries it with backoff.
    bulkhead: { maxConcurrent: 64, maxQueued: 0 },
    isRetryable: (error) => !(error instanceof CircuitOpenError || error instanceof BulkheadFullError),
  });
  return withSpan(
    `rpc ${service}.${method}`,
    {
      kind: "client",
      attributes: { "rpc.system": "cloudflare_workers", "rpc.service": service, "rpc.method": method },
    },
    async (span) => {
      try {
        const result = await policy.execute(() => call(currentTraceparent()));
        span?.setAttributes({ "edgebank.outcome": result.status });
        return result;
      } catch (error) {
        throw new TransientFailure(`${service}.${method}: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  );
}

/** The `traceparent` field of a call's input: present only when there is a trace to continue. */
export function traceOf(traceparent: string | undefined): { traceparent?: string } {
  return traceparent ? { traceparent } : {};
}
