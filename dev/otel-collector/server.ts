import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An OpenTelemetry collector for development: the OTLP/HTTP receiver's traces endpoint with
 * JSON bodies (`POST /v1/traces`, an ExportTraceServiceRequest; answers an
 * ExportTraceServiceResponse), keeping the spans in memory by trace, and a small query API:
 * `GET /traces/<traceId>` answers the trace as OTLP JSON (`resourceSpans`, one per service),
 * `GET /traces` the most recent traces. Protobuf bodies are refused with 415, as a collector
 * without that encoding would; edgebank's exporter sends JSON.
 */

type KeyValue = { key: string; value: Record<string, unknown> };
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  [member: string]: unknown;
}
interface ResourceSpans {
  resource?: { attributes?: KeyValue[] };
  scopeSpans?: Array<{ scope?: unknown; spans?: OtlpSpan[] }>;
}

/** A stored span with the resource it came from. */
interface StoredSpan {
  resourceKey: string;
  resource: { attributes?: KeyValue[] };
  scope: unknown;
  span: OtlpSpan;
}

export interface CollectorOptions {
  port?: number;
  /** Traces kept; the oldest are dropped first. */
  maxTraces?: number;
}

export interface DevCollector {
  url: string;
  /** The spans of a trace, as OTLP JSON. */
  trace(traceId: string): { resourceSpans: ResourceSpans[] };
  close(): Promise<void>;
}

const hex = (length: number) => new RegExp(`^[0-9a-f]{${length}}$`);
const traceIdPattern = hex(32);

async function body(request: IncomingMessage, limit = 16 * 1024 * 1024): Promise<string> {
  let text = "";
  for await (const chunk of request) {
    text += chunk;
    if (text.length > limit) throw new Error("body too large");
  }
  return text;
}

function send(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
}

export async function startDevCollector(options: CollectorOptions = {}): Promise<DevCollector> {
  const maxTraces = options.maxTraces ?? 10_000;
  const traces = new Map<string, StoredSpan[]>();

  const keep = (request: { resourceSpans?: ResourceSpans[] }): number => {
    let rejected = 0;
    for (const resourceSpans of request.resourceSpans ?? []) {
      const resource = resourceSpans.resource ?? {};
      const resourceKey = JSON.stringify(resource.attributes ?? []);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          if (!traceIdPattern.test(span.traceId ?? "") || !hex(16).test(span.spanId ?? "")) {
            rejected += 1;
            continue;
          }
          let spans = traces.get(span.traceId);
          if (!spans) {
            if (traces.size >= maxTraces) {
              const oldest = traces.keys().next().value;
              if (oldest !== undefined) traces.delete(oldest);
            }
            spans = [];
            traces.set(span.traceId, spans);
          }
          spans.push({ resourceKey, resource, scope: scopeSpans.scope ?? {}, span });
        }
      }
    }
    return rejected;
  };

  const trace = (traceId: string) => {
    const byResource = new Map<string, ResourceSpans & { scopeSpans: Array<{ scope: unknown; spans: OtlpSpan[] }> }>();
    for (const stored of traces.get(traceId) ?? []) {
      let entry = byResource.get(stored.resourceKey);
      if (!entry) {
        entry = { resource: stored.resource, scopeSpans: [{ scope: stored.scope, spans: [] }] };
        byResource.set(stored.resourceKey, entry);
      }
      entry.scopeSpans[0]?.spans.push(stored.span);
    }
    return { resourceSpans: [...byResource.values()] };
  };

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://collector");
    try {
      if (request.method === "POST" && url.pathname === "/v1/traces") {
        const type = request.headers["content-type"] ?? "";
        if (!type.startsWith("application/json")) {
          return send(response, 415, { code: 3, message: "this development collector takes OTLP/JSON only" });
        }
        const rejected = keep(JSON.parse(await body(request)) as { resourceSpans?: ResourceSpans[] });
        return send(
          response,
          200,
          rejected > 0 ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage: "invalid ids" } } : {},
        );
      }
      if (request.method === "GET" && url.pathname === "/traces") {
        const recent = [...traces.entries()].slice(-50).reverse();
        return send(response, 200, {
          traces: recent.map(([traceId, spans]) => ({
            traceId,
            spans: spans.length,
            root: spans.find((s) => !s.span.parentSpanId)?.span.name,
          })),
        });
      }
      const match = /^\/traces\/([0-9a-f]{32})$/.exec(url.pathname);
      if (request.method === "GET" && match?.[1]) {
        if (!traces.has(match[1])) return send(response, 404, { error: `no trace ${match[1]}` });
        return send(response, 200, trace(match[1]));
      }
      send(response, 404, { error: "not found" });
    } catch (error) {
      send(response, 400, { code: 3, message: error instanceof Error ? error.message : String(error) });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    trace,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
