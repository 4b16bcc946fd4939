import type { Resource, TraceExporter } from "./otlp.ts";
import type { SpanRecord } from "./span.ts";

export interface BatchOptions {
  /** How long spans wait for others before they leave. */
  maxDelayMs: number;
  /** Spans that leave at once, without waiting, when that many are gathered. */
  maxSpans: number;
}

const DEFAULTS: BatchOptions = { maxDelayMs: 200, maxSpans: 512 };

/**
 * Gathers the spans of every invocation of one isolate into few OTLP requests: at most one per
 * `maxDelayMs` (or per `maxSpans`), instead of one per invocation. On a hot path (an account
 * taking hundreds of debits a second) a request per invocation cost more than the spans.
 *
 * The invocation whose spans start a batch keeps it: its `waitUntil` holds the delayed export,
 * so the export's I/O belongs to a live invocation; invocations that join the batch meanwhile
 * hand over their spans and return at once (no promise crosses from one request to another).
 * A keeper can vanish with its timer (a cancelled request, an aborted Durable Object): once its
 * export is overdue, the next invocation takes the batch over. Spans still waiting when an
 * isolate is evicted are lost, as telemetry may be.
 */
export function batchingExporter(inner: TraceExporter, options: Partial<BatchOptions> = {}): TraceExporter {
  const { maxDelayMs, maxSpans } = { ...DEFAULTS, ...options };
  const pending = new Map<string, { resource: Resource; spans: SpanRecord[] }>();
  let gathered = 0;
  /** When the keeper's export is due (0: no batch is kept). */
  let dueAt = 0;

  const flush = async () => {
    const batches = [...pending.values()];
    pending.clear();
    gathered = 0;
    await Promise.all(batches.map(({ resource, spans }) => inner.export(resource, spans)));
  };

  return {
    export(resource, spans) {
      if (spans.length === 0) return Promise.resolve();
      const key = `${resource.service}\n${resource.version}\n${resource.environment}\n${resource.versionId ?? ""}`;
      const batch = pending.get(key);
      if (batch) batch.spans.push(...spans);
      else pending.set(key, { resource, spans: [...spans] });
      gathered += spans.length;
      if (gathered >= maxSpans) return flush();
      const now = Date.now();
      if (dueAt !== 0 && now < dueAt + maxDelayMs) return Promise.resolve();
      dueAt = now + maxDelayMs;
      return new Promise<void>((resolve) => setTimeout(resolve, maxDelayMs)).then(() => {
        dueAt = 0;
        return flush();
      });
    },
  };
}
