import type { Attributes, AttributeValue, SpanRecord } from "./span.ts";
import { SpanKind } from "./span.ts";

/** Who produced the spans: OpenTelemetry resource attributes of a Worker. */
export interface Resource {
  service: string;
  /** The service's release (SERVICE_VERSION). */
  version: string;
  environment: string;
  /** The Workers version id (the version-metadata binding), when known. */
  versionId?: string | undefined;
}

type OtlpValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };

function otlpValue(value: AttributeValue): OtlpValue {
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { stringValue: value };
}

function otlpAttributes(attributes: Attributes) {
  return Object.entries(attributes)
    .filter((entry): entry is [string, AttributeValue] => entry[1] !== undefined)
    .map(([key, value]) => ({ key, value: otlpValue(value) }));
}

const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

/**
 * The OTLP/JSON body of an ExportTraceServiceRequest (OTLP 1.x: ids as hex, times as decimal
 * nanoseconds, kinds and status codes as numbers), which every OTLP/HTTP collector accepts at
 * `POST <endpoint>/v1/traces` with `content-type: application/json`.
 */
export function encodeTraces(resource: Resource, spans: SpanRecord[]) {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: otlpAttributes({
            "service.name": resource.service,
            "service.version": resource.version,
            "deployment.environment.name": resource.environment,
            "cloud.provider": "cloudflare",
            "cloud.platform": "cloudflare.workers",
            "faas.version": resource.versionId,
          }),
        },
        scopeSpans: [
          {
            scope: { name: "@edgebank/telemetry" },
            spans: spans.map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
              name: span.name,
              kind: SpanKind[span.kind],
              startTimeUnixNano: nanos(span.startMs),
              endTimeUnixNano: nanos(span.endMs),
              attributes: otlpAttributes(span.attributes),
              events: span.events.map((event) => ({
                name: event.name,
                timeUnixNano: nanos(event.timeMs),
                attributes: otlpAttributes(event.attributes),
              })),
              status: span.status.message ? span.status : { code: span.status.code },
            })),
          },
        ],
      },
    ],
  };
}

/** Sends spans to an OTLP/HTTP collector (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS). */
export interface TraceExporter {
  export(resource: Resource, spans: SpanRecord[]): Promise<void>;
}

/** OTLP/HTTP with JSON bodies. A collector that is down costs the request nothing: errors are swallowed. */
export function otlpHttpExporter(endpoint: string, headers: Record<string, string> = {}): TraceExporter {
  const url = `${endpoint.replace(/\/+$/, "")}/v1/traces`;
  return {
    async export(resource, spans) {
      if (spans.length === 0) return;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify(encodeTraces(resource, spans)),
          signal: AbortSignal.timeout(5_000),
        });
        await response.body?.cancel();
      } catch {
        // Telemetry never fails the work it describes.
      }
    },
  };
}

/** `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs separated by commas (values URL-encoded). */
export function parseOtlpHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (value ?? "").split(",")) {
    const index = pair.indexOf("=");
    if (index <= 0) continue;
    headers[pair.slice(0, index).trim()] = decodeURIComponent(pair.slice(index + 1).trim());
  }
  return headers;
}
