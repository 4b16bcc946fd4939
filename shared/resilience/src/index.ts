export { Bulkhead, type BulkheadOptions } from "./bulkhead.ts";
export { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from "./circuit-breaker.ts";
export { type Clock, systemClock } from "./clock.ts";
export { BulkheadFullError, CircuitOpenError, TimeoutError } from "./errors.ts";
export {
  DownstreamPolicy,
  type DownstreamPolicyOptions,
  type DownstreamPolicyOverrides,
  defaultIsFailure,
  defaultIsRetryable,
  defaultPolicyOptions,
  PolicyRegistry,
  resolvePolicyOptions,
} from "./policy.ts";
export { fullJitterDelay, RetryBudget, type RetryOptions, retry } from "./retry.ts";
export { withTimeout } from "./timeout.ts";
