import { DurableObject } from "cloudflare:workers";
import { createHash, randomBytes } from "node:crypto";
import type { PresentedNotification } from "../repo/notifications.ts";

/** How long a ticket lets its holder open a stream, and how many streams one user keeps open. */
export const TICKET_TTL_SECONDS = 30;
const MAX_SOCKETS = 5;

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * One user's live notifications: the WebSockets of their open apps, held with the hibernation
 * API (an idle stream costs nothing: the object sleeps until something is sent), and the
 * one-time tickets that open them. Browsers cannot put a bearer token on a WebSocket, so an
 * authenticated call asks this object for a ticket (kept hashed, 30 s, used once) and the
 * upgrade presents it. The consumer publishes each notification after its batch committed; a
 * stream only ever carries what is already in the inbox, and an app that was away reads the
 * inbox again when it reconnects.
 */
export class NotificationStreamDO extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Keep-alives answered without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** A new one-time ticket's secret; the caller names this object's id beside it. */
  async issueTicket(): Promise<string> {
    const secret = randomBytes(32).toString("base64url");
    const now = Date.now();
    const tickets = (await this.ctx.storage.get<Record<string, number>>("tickets")) ?? {};
    for (const [hash, expiresAt] of Object.entries(tickets)) if (expiresAt <= now) delete tickets[hash];
    tickets[sha256(secret)] = now + TICKET_TTL_SECONDS * 1000;
    await this.ctx.storage.put("tickets", tickets);
    return secret;
  }

  /**
   * The upgrade: a ticket's secret (header `x-ticket-secret`, set by the Worker) that this object
   * issued, unexpired and unused, opens one stream. Anything else is 401 and uses nothing up.
   */
  override async fetch(request: Request): Promise<Response> {
    const secret = request.headers.get("x-ticket-secret") ?? "";
    const tickets = (await this.ctx.storage.get<Record<string, number>>("tickets")) ?? {};
    const hash = sha256(secret);
    const expiresAt = tickets[hash];
    if (expiresAt === undefined || expiresAt <= Date.now()) return new Response(null, { status: 401 });
    delete tickets[hash];
    await this.ctx.storage.put("tickets", tickets);

    const open = this.ctx.getWebSockets();
    // The oldest streams beyond the limit give way (a user's forgotten tabs).
    for (const stale of open.slice(0, Math.max(0, open.length - MAX_SOCKETS + 1)))
      stale.close(4000, "replaced by a newer stream");
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    server.send(JSON.stringify({ type: "ready" }));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends notifications to every open stream of this user; how many streams got them. */
  async publish(items: readonly PresentedNotification[]): Promise<number> {
    const sockets = this.ctx.getWebSockets();
    for (const socket of sockets) {
      for (const notification of items) {
        try {
          socket.send(JSON.stringify({ type: "notification", notification }));
        } catch {
          // A socket closing as we send: its app reads the inbox when it reconnects.
        }
      }
    }
    return sockets.length;
  }

  /** Apps send nothing but keep-alives (answered above); anything else closes the stream. */
  override async webSocketMessage(socket: WebSocket): Promise<void> {
    socket.close(1003, "this stream only sends");
  }

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    try {
      socket.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }
}
