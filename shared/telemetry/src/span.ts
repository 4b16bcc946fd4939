/**
 * Spans as OpenTelemetry defines them (trace and span ids, parent, kind, times, attributes,
 * status, events), kept in memory until the invocation that made them exports them over OTLP.
 * Workers freeze the clock while code runs and advance it at I/O, so a span's duration is the
 * I/O it waited for: what matters on an edge request.
 */
import { randomBytes } from "@edgebank/ids";

/** OpenTelemetry span kinds (their OTLP numbers). */
export const SpanKind = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
export type SpanKindName = keyof typeof SpanKind;

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue | undefined>;

/** A finished span, ready to encode. Times in epoch milliseconds. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKindName;
  startMs: number;
  endMs: number;
  attributes: Attributes;
  /** OTLP status: unset (0), ok (1), error (2). */
  status: { code: 0 | 1 | 2; message?: string };
  events: Array<{ name: string; timeMs: number; attributes: Attributes }>;
}

/** Where a span goes when it ends: the trace segment of one invocation (see Segment). */
export interface SpanSink {
  readonly sampled: boolean;
  add(span: SpanRecord): void;
  markError(): void;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** `count` random bytes as lowercase hex, never all zero (W3C ids must not be). */
function randomHex(count: number): string {
  for (;;) {
    let hex = "";
    let nonZero = 0;
    for (const byte of randomBytes(count)) {
      nonZero |= byte;
      hex += HEX[byte];
    }
    if (nonZero !== 0) return hex;
  }
}

/** A new random span id (8 bytes, never all zero). */
export function newSpanId(): string {
  return randomHex(8);
}

/** A new random trace id (16 bytes, never all zero). */
export function newTraceId(): string {
  return randomHex(16);
}

export interface SpanStart {
  traceId: string;
  spanId?: string;
  parentSpanId?: string | undefined;
  name: string;
  kind?: SpanKindName;
  attributes?: Attributes;
}

/** One operation in a trace. `end()` hands it to its segment; ending twice does nothing. */
export class Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly kind: SpanKindName;
  readonly startMs = Date.now();
  name: string;
  #attributes: Attributes;
  #status: SpanRecord["status"] = { code: 0 };
  #events: SpanRecord["events"] = [];
  #ended = false;

  readonly sink: SpanSink;

  constructor(sink: SpanSink, start: SpanStart) {
    this.sink = sink;
    this.traceId = start.traceId;
    this.spanId = start.spanId ?? newSpanId();
    this.parentSpanId = start.parentSpanId;
    this.name = start.name;
    this.kind = start.kind ?? "internal";
    this.#attributes = { ...start.attributes };
  }

  /** The W3C traceparent naming this span as the parent of what it calls. */
  get traceparent(): string {
    return `00-${this.traceId}-${this.spanId}-${this.sink.sampled ? "01" : "00"}`;
  }

  get ended(): boolean {
    return this.#ended;
  }

  setAttributes(attributes: Attributes): this {
    Object.assign(this.#attributes, attributes);
    return this;
  }

  /** Marks the span failed; its segment is then exported whatever the sampling decided. */
  setError(message: string): this {
    this.#status = { code: 2, message };
    this.sink.markError();
    return this;
  }

  /** A thrown value: failed status and an `exception` event (type and message, never a stack). */
  recordException(error: unknown): this {
    const message = error instanceof Error ? error.message : String(error);
    this.#events.push({
      name: "exception",
      timeMs: Date.now(),
      attributes: {
        "exception.type": error instanceof Error ? error.name : typeof error,
        "exception.message": message,
      },
    });
    return this.setError(message);
  }

  /** A child of this span, in the same segment. */
  child(name: string, kind: SpanKindName = "internal", attributes: Attributes = {}): Span {
    return new Span(this.sink, { traceId: this.traceId, parentSpanId: this.spanId, name, kind, attributes });
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.sink.add({
      traceId: this.traceId,
      spanId: this.spanId,
      ...(this.parentSpanId ? { parentSpanId: this.parentSpanId } : {}),
      name: this.name,
      kind: this.kind,
      startMs: this.startMs,
      endMs: Date.now(),
      attributes: this.#attributes,
      status: this.#status,
      events: this.#events,
    });
  }
}

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

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
