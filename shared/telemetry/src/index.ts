export { type AnalyticsEngineApi, type AnalyticsResult, queryAnalyticsEngine } from "./analytics.ts";
export { type BatchOptions, batchingExporter } from "./batch.ts";
export {
  activeSpan,
  currentTraceparent,
  type InvocationOptions,
  type Parent,
  recording,
  sampledByRatio,
  traceInvocation,
  withSpan,
} from "./context.ts";
export { encodeTraces, otlpHttpExporter, parseOtlpHeaders, type Resource, type TraceExporter } from "./otlp.ts";
export { Segment } from "./segment.ts";
export { type Telemetry, type TelemetryVars, telemetryOf, telemetryVars } from "./settings.ts";
export {
  type Attributes,
  newSpanId,
  newTraceId,
  parseTraceparent,
  Span,
  SpanKind,
  type SpanKindName,
  type SpanRecord,
} from "./span.ts";
