/**
 * A trace as an indented tree: each span under its parent, in start order, with its service,
 * duration and offset from the trace's start; spans whose parent is not in the trace are roots.
 */

type KeyValue = { key: string; value: { stringValue?: string; intValue?: string } };
interface OtlpTrace {
  resourceSpans: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        status?: { code?: number; message?: string };
      }>;
    }>;
  }>;
}

export interface TreeSpan {
  spanId: string;
  parentSpanId: string | undefined;
  service: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  error: string | undefined;
}

/** Every span of an OTLP/JSON trace, with its service, times in milliseconds. */
export function flattenTrace(trace: OtlpTrace): TreeSpan[] {
  return trace.resourceSpans.flatMap((resourceSpans) => {
    const service =
      resourceSpans.resource?.attributes?.find((attribute) => attribute.key === "service.name")?.value.stringValue ??
      "unknown";
    return (resourceSpans.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map((span) => ({
        spanId: span.spanId,
        parentSpanId: span.parentSpanId,
        service,
        name: span.name,
        kind: span.kind ?? 1,
        startMs: Number(BigInt(span.startTimeUnixNano) / 1_000_000n),
        endMs: Number(BigInt(span.endTimeUnixNano) / 1_000_000n),
        error: span.status?.code === 2 ? (span.status.message ?? "error") : undefined,
      })),
    );
  });
}

const kinds = ["", "", "server", "client", "producer", "consumer"];

/** The trace as lines: `+offset ms  duration ms  service  name [kind]`, indented by depth. */
export function renderTree(trace: OtlpTrace): string {
  const spans = flattenTrace(trace).sort((a, b) => a.startMs - b.startMs);
  if (spans.length === 0) return "(no spans)";
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map<string | undefined, TreeSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const origin = Math.min(...spans.map((span) => span.startMs));
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of children.get(parent) ?? []) {
      const offset = `+${span.startMs - origin}`.padStart(7);
      const duration = `${span.endMs - span.startMs}`.padStart(6);
      const kind = kinds[span.kind] ? ` [${kinds[span.kind]}]` : "";
      const error = span.error ? `  ERROR: ${span.error}` : "";
      lines.push(`${offset} ms ${duration} ms  ${"  ".repeat(depth)}${span.service}: ${span.name}${kind}${error}`);
      walk(span.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join("\n");
}
