import { AsyncLocalStorage } from "node:async_hooks";
import { Segment } from "./segment.ts";
import type { Telemetry } from "./settings.ts";
import { type Attributes, newTraceId, parseTraceparent, Span, type SpanKindName } from "./span.ts";

/** The span the running code belongs to, carried across awaits (nodejs_compat's AsyncLocalStorage). */
const active = new AsyncLocalStorage<Span>();

/** The span the running code belongs to, if it is traced. */
export function activeSpan(): Span | undefined {
  return active.getStore();
}

/** Whether the running code belongs to a trace that is kept (child spans are recorded). */
export function recording(): boolean {
  return active.getStore()?.sink.sampled ?? false;
}

/** The traceparent to send on an outgoing call: the active span as its parent. */
export function currentTraceparent(): string | undefined {
  return active.getStore()?.traceparent;
}

/** The parent of an invocation: a W3C traceparent, or explicit ids (a request's trace context). */
export type Parent =
  | string
  | undefined
  | { traceId: string; spanId: string; parentSpanId?: string | undefined; sampled: boolean };

/** Whether a new trace is kept: its id's low 56 bits against the ratio (W3C trace-id randomness). */
export function sampledByRatio(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  return Number.parseInt(traceId.slice(-14), 16) / 2 ** 56 < ratio;
}

export interface InvocationOptions {
  telemetry: Telemetry;
  name: string;
  kind: SpanKindName;
  parent: Parent;
  attributes?: Attributes;
  waitUntil: (promise: Promise<unknown>) => void;
}

/**
 * Runs one invocation as the root span of a new trace segment (continuing the parent's trace,
 * or starting one sampled by the configured ratio) and exports the segment over OTLP when it
 * ends. Without an exporter configured, `fn` runs untraced (span undefined).
 */
export async function traceInvocation<T>(
  options: InvocationOptions,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  const { exporter, resource, sampleRatio } = options.telemetry;
  if (!exporter) return fn(undefined);
  let ids: { traceId: string; spanId?: string; parentSpanId?: string | undefined; sampled: boolean };
  const parent = options.parent;
  if (typeof parent === "object") ids = parent;
  else {
    const caller = parseTraceparent(parent);
    if (caller) {
      ids = {
        traceId: caller.traceId,
        parentSpanId: caller.parentId,
        sampled: (Number.parseInt(caller.flags, 16) & 1) === 1,
      };
    } else {
      const traceId = newTraceId();
      ids = { traceId, sampled: sampledByRatio(traceId, sampleRatio) };
    }
  }
  const segment = new Segment(ids.sampled, resource, exporter, options.waitUntil);
  const root = new Span(segment, {
    traceId: ids.traceId,
    ...(ids.spanId ? { spanId: ids.spanId } : {}),
    parentSpanId: ids.parentSpanId,
    name: options.name,
    kind: options.kind,
    ...(options.attributes ? { attributes: options.attributes } : {}),
  });
  try {
    return await active.run(root, () => fn(root));
  } catch (error) {
    root.recordException(error);
    throw error;
  } finally {
    root.end();
    segment.rootEnded();
  }
}

/**
 * Runs `fn` in a child span of the active one (nothing when the code is not traced): a call
 * over a binding, a database statement, a Kafka produce. A throw marks the span failed.
 */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKindName; attributes?: Attributes },
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  const parent = active.getStore();
  if (!parent) return fn(undefined);
  if (!parent.sink.sampled) {
    // A trace sampled out records nothing but its failures: the work runs without a span, and
    // a throw leaves one failed span (with the exception) in the segment, which is then exported.
    try {
      return await fn(undefined);
    } catch (error) {
      const failed = parent.child(name, options.kind ?? "internal", options.attributes ?? {});
      failed.recordException(error);
      failed.end();
      throw error;
    }
  }
  const span = parent.child(name, options.kind ?? "internal", options.attributes ?? {});
  try {
    return await active.run(span, () => fn(span));
  } catch (error) {
    span.recordException(error);
    throw error;
  } finally {
    span.end();
  }
}
