export { type CreateAppOptions, createApp } from "./app.ts";
export type { AppEnv, AppVariables } from "./context.ts";
export { handleError, handleNotFound, validationHook } from "./errors.ts";
export { type CheckResult, type ReadinessCheck, registerHealth } from "./health.ts";
export { createLogger, describeError, type LogContext, type Logger, type LogLevel, logLevels } from "./logger.ts";
export {
  countEvent,
  type DataPoint,
  flushMetrics,
  METRICS_DATASET,
  type MetricsDataset,
  recordMetric,
  writeDataPoint,
} from "./metrics.ts";
export { accessLog, type HttpSettings, limitBody, rejectMalformedJson, requestContext } from "./middleware.ts";
export { propagationHeaders } from "./propagation.ts";
export { rpcServer } from "./rpc.ts";
export {
  type ErrorContext,
  isExpectedError,
  reportError,
  reportingDurableObject,
  withErrorReporting,
} from "./sentry.ts";
export { routeOf, traceRequests, traceWork, versionIdOf, waitUntilOf, workerTelemetry } from "./telemetry.ts";
export {
  continueTrace,
  formatTraceparent,
  newSpanId,
  newTraceId,
  parseTraceparent,
  type TraceContext,
} from "./trace.ts";
