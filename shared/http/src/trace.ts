import { newSpanId, newTraceId, parseTraceparent } from "@edgebank/telemetry";

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header is
 * `00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>`.
 */
export interface TraceContext {
  traceId: string;
  /** The span of this worker's handling of the request. */
  spanId: string;
  /** The caller's span, when the request arrived with a valid traceparent. */
  parentSpanId?: string;
  flags: string;
}

export { newSpanId, newTraceId, parseTraceparent };

/** Continues the caller's trace with a new span, or starts a new sampled trace. */
export function continueTrace(header: string | null | undefined): TraceContext {
  const parent = parseTraceparent(header);
  if (!parent) return { traceId: newTraceId(), spanId: newSpanId(), flags: "01" };
  return { traceId: parent.traceId, spanId: newSpanId(), parentSpanId: parent.parentId, flags: parent.flags };
}

/** The traceparent this worker sends on an outgoing call: the same trace, this worker's span as parent. */
export function formatTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}
