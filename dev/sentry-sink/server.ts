import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/**
 * A Sentry ingest for development: the envelope endpoint of the Sentry protocol
 * (`POST /api/<project>/envelope/`: newline-separated JSON, an envelope header, then item
 * headers each followed by its payload, its `length` in bytes when given), authenticated by the
 * DSN's public key (`X-Sentry-Auth: Sentry sentry_key=…`, or `?sentry_key=`). It keeps the
 * `event` items and lists them at `GET /events` (newest last), so tests and developers can see
 * what the Workers reported. `DELETE /events` forgets them.
 */

export interface SentryEvent {
  event_id: string;
  project: string;
  level?: string;
  release?: string;
  environment?: string;
  tags?: Record<string, string>;
  user?: { id?: string };
  exception?: { values?: Array<{ type?: string; value?: string }> };
  contexts?: { trace?: { trace_id?: string } };
  [member: string]: unknown;
}

export interface SentrySink {
  url: string;
  /** The DSN Workers are given: `http://<key>@127.0.0.1:<port>/<project>`. */
  dsn: string;
  events: SentryEvent[];
  close(): Promise<void>;
}

async function bytes(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > 20 * 1024 * 1024) throw new Error("envelope too large");
  }
  const body = Buffer.concat(chunks);
  return request.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
}

/** The items of an envelope: [item header, payload bytes]. */
export function parseEnvelope(body: Buffer): {
  header: Record<string, unknown>;
  items: Array<[Record<string, unknown>, Buffer]>;
} {
  let offset = 0;
  const line = (): Buffer => {
    const end = body.indexOf(0x0a, offset);
    const slice = body.subarray(offset, end === -1 ? body.length : end);
    offset = end === -1 ? body.length : end + 1;
    return slice;
  };
  const header = JSON.parse(line().toString("utf8") || "{}") as Record<string, unknown>;
  const items: Array<[Record<string, unknown>, Buffer]> = [];
  while (offset < body.length) {
    const itemHeaderLine = line();
    if (itemHeaderLine.length === 0) continue;
    const itemHeader = JSON.parse(itemHeaderLine.toString("utf8")) as Record<string, unknown>;
    let payload: Buffer;
    if (typeof itemHeader.length === "number") {
      payload = body.subarray(offset, offset + itemHeader.length);
      offset += itemHeader.length;
      if (body[offset] === 0x0a) offset += 1;
    } else {
      payload = line();
    }
    items.push([itemHeader, payload]);
  }
  return { header, items };
}

export async function startSentrySink(
  options: { port?: number; project?: string; key?: string } = {},
): Promise<SentrySink> {
  const project = options.project ?? "1";
  const key = options.key ?? "edgebankdevelopment";
  const events: SentryEvent[] = [];
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://sink");
    const json = (status: number, value: unknown) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    try {
      const envelope = /^\/api\/([^/]+)\/envelope\/?$/.exec(url.pathname);
      if (request.method === "POST" && envelope?.[1]) {
        const auth = `${request.headers["x-sentry-auth"] ?? ""} sentry_key=${url.searchParams.get("sentry_key") ?? ""}`;
        if (!new RegExp(`sentry_key=${key}\\b`).test(auth)) return json(401, { detail: "invalid sentry_key" });
        if (envelope[1] !== project) return json(404, { detail: `no project ${envelope[1]}` });
        const { header, items } = parseEnvelope(await bytes(request));
        for (const [itemHeader, payload] of items) {
          if (itemHeader.type !== "event") continue;
          const event = JSON.parse(payload.toString("utf8")) as SentryEvent;
          events.push({ ...event, project: envelope[1] });
        }
        return json(200, { id: header.event_id ?? null });
      }
      if (url.pathname === "/events" && request.method === "GET") return json(200, { events });
      if (url.pathname === "/events" && request.method === "DELETE") {
        events.length = 0;
        return response.writeHead(204).end();
      }
      json(404, { detail: "not found" });
    } catch (error) {
      json(400, { detail: error instanceof Error ? error.message : String(error) });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dsn: `http://${key}@127.0.0.1:${port}/${project}`,
    events,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
