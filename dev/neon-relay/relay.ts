import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { WebSocketServer } from "ws";

export interface NeonRelay {
  /** `host:port/v2`, the value of NEON_WS_PROXY for workers. */
  proxy: string;
  close(): Promise<void>;
}

const loopback = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/**
 * A WebSocket-to-TCP relay for `@neondatabase/serverless` in local development: each
 * WebSocket carries one PostgreSQL connection, opened to the `address=host:port` the driver
 * names (only loopback addresses are allowed: this is a development tool, not a proxy).
 * Binary frames are raw protocol bytes in both directions.
 */
export async function startNeonRelay(port = 0): Promise<NeonRelay> {
  const http: Server = createServer((_, response) => response.writeHead(426).end("WebSocket only"));
  const wss = new WebSocketServer({ server: http, path: "/v2" });
  wss.on("connection", (socket, request) => {
    const address = new URL(request.url ?? "", "http://relay").searchParams.get("address") ?? "";
    const separator = address.lastIndexOf(":");
    const host = address.slice(0, separator);
    const targetPort = Number(address.slice(separator + 1));
    if (!loopback.has(host) || !Number.isInteger(targetPort)) {
      socket.close(1008, "only loopback addresses are relayed");
      return;
    }
    const tcp = connect({ host: host.replace(/^\[|\]$/g, ""), port: targetPort });
    tcp.setNoDelay(true);
    const pending: Buffer[] = [];
    tcp.on("connect", () => {
      for (const chunk of pending.splice(0)) tcp.write(chunk);
    });
    socket.on("message", (data) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (tcp.connecting) pending.push(chunk);
      else tcp.write(chunk);
    });
    tcp.on("data", (chunk) => socket.send(chunk));
    tcp.on("close", () => socket.close());
    tcp.on("error", () => socket.close(1011, "upstream error"));
    socket.on("close", () => tcp.destroy());
    socket.on("error", () => tcp.destroy());
  });
  await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve));
  const address = http.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return {
    proxy: `127.0.0.1:${actualPort}/v2`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        http.close(() => resolve());
      }),
  };
}
