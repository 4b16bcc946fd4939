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

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A new random span id (8 bytes, never all zero). */
export function newSpanId(): string {
  const id = randomHex(8);
  return /^0+$/.test(id) ? newSpanId() : id;
}

/** A new random trace id (16 bytes, never all zero). */
export function newTraceId(): string {
  const id = randomHex(16);
  return /^0+$/.test(id) ? newTraceId() : id;
}

/**
 * Parses a traceparent header. Invalid headers (wrong shape, version ff, all-zero ids, or
 * extra fields on version 00) are ignored, as the spec requires, by returning undefined.
 */
export function parseTraceparent(
  header: string | null | undefined,
): { traceId: string; parentId: string; flags: string } | undefined {
  if (!header) return undefined;
  const match = traceparentPattern.exec(header.trim().toLowerCase());
  if (!match) return undefined;
  const [whole, version = "", traceId = "", parentId = "", flags = ""] = match;
  if (version === "ff") return undefined;
  if (version === "00" && whole.length !== 55) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

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
