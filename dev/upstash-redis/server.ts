import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Command, RedisBackend } from "./backend.ts";

/**
 * An Upstash-compatible Redis REST endpoint for local development and tests, speaking the
 * documented protocol that @upstash/redis uses:
 * - `Authorization: Bearer <token>` (or `?_token=`), else 401;
 * - a command as a JSON array posted to `/` (`["SET","k","v"]`), or in the path (`/set/k/v`,
 *   a request body becoming the last argument);
 * - `/pipeline`: a JSON array of commands, one `{result}` or `{error}` each;
 * - `/multi-exec`: the same, run as one transaction;
 * - `Upstash-Encoding: base64`: every string in a result is base64 encoded, except the
 *   status reply `OK`.
 * Results are `{"result": …}` (200); a failed command is `{"error": "…"}` (400).
 *
 * The concurrency of a transaction is only as strong as the backend's; this is no server for
 * production.
 */
export interface UpstashRestServer {
  url: string;
  token: string;
  backend: RedisBackend;
  close(): Promise<void>;
}

type Reply = { result: unknown } | { error: string };

function encodeBase64(value: unknown, top: boolean): unknown {
  if (typeof value === "string") return top && value === "OK" ? value : Buffer.from(value, "utf8").toString("base64");
  if (Array.isArray(value)) return value.map((item) => encodeBase64(item, false));
  return value;
}

function toCommand(value: unknown): Command | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const parts = value.map((part) =>
    typeof part === "string" ? part : typeof part === "number" || typeof part === "boolean" ? String(part) : undefined,
  );
  if (parts.some((part) => part === undefined)) return undefined;
  return parts as Command;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function authorized(request: IncomingMessage, url: URL, token: string): boolean {
  const header = request.headers.authorization ?? "";
  const given = header.startsWith("Bearer ") ? header.slice(7) : (url.searchParams.get("_token") ?? "");
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startUpstashRestServer(options: {
  backend: RedisBackend;
  token: string;
  port?: number;
}): Promise<UpstashRestServer> {
  const { backend, token } = options;
  const run = async (command: Command): Promise<Reply> => {
    try {
      return { result: await backend.execute(command) };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (!authorized(request, url, token)) return send(401, { error: "Unauthorized" });
    const base64 = (request.headers["upstash-encoding"] ?? "").toString().toLowerCase() === "base64";
    const encode = (reply: Reply): Reply =>
      "result" in reply && base64 ? { result: encodeBase64(reply.result, true) } : reply;
    const text = await readBody(request);

    if (request.method === "POST" && (url.pathname === "/pipeline" || url.pathname === "/multi-exec")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return send(400, { error: "ERR failed to parse pipeline request" });
      }
      const commands = Array.isArray(parsed) ? parsed.map(toCommand) : [];
      if (commands.length === 0 || commands.some((c) => c === undefined)) {
        return send(400, { error: "ERR failed to parse pipeline request" });
      }
      const valid = commands as Command[];
      if (url.pathname === "/pipeline") {
        const replies: Reply[] = [];
        for (const command of valid) replies.push(encode(await run(command)));
        return send(200, replies);
      }
      const replies = await backend.transaction(valid);
      return send(
        200,
        replies.map((reply) => (reply.error !== undefined ? { error: reply.error } : encode({ result: reply.result }))),
      );
    }

    let command: Command | undefined;
    if (url.pathname === "/" && request.method === "POST") {
      try {
        command = toCommand(JSON.parse(text));
      } catch {
        command = undefined;
      }
    } else {
      const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
      if (text.length > 0) segments.push(text);
      command = toCommand(segments);
    }
    if (!command) return send(400, { error: "ERR failed to parse command" });
    const reply = await run(command);
    return send("error" in reply ? 400 : 200, encode(reply));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: error instanceof Error ? error.message : "internal error" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    backend,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          void backend.close().then(resolve, resolve);
        });
      }),
  };
}
