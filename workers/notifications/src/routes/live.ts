import type { AuthVariables } from "@edgebank/auth";
import { AppError } from "@edgebank/errors";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { streamOf } from "../live/publish.ts";
import { TICKET_TTL_SECONDS } from "../live/stream.ts";

type AuthedEnv = ServiceEnv & { Variables: AuthVariables };

const LIVE_PATH = "/v1/notifications/live";

const ticketRoute = createRoute({
  method: "post",
  path: `${LIVE_PATH}/tickets`,
  tags: ["notifications"],
  summary: "A one-time ticket (30 s) that opens the caller's live notification stream",
  description:
    "Browsers cannot send a bearer token with a WebSocket, so the token buys a ticket here and the " +
    "upgrade to `url` presents it. A ticket opens one stream, once.",
  security: [{ bearer: [] }],
  middleware: [authenticated("notifications:read")] as const,
  responses: {
    201: {
      description: "A ticket and the stream's URL (with the ticket)",
      content: {
        "application/json": {
          schema: z
            .object({
              ticket: z.string(),
              url: z.string().describe("wss:// (ws:// locally) URL of the stream, the ticket in its query"),
              expiresIn: z.number().int().describe("seconds"),
            })
            .openapi("LiveTicket"),
        },
      },
    },
  },
});

const streamRoute = createRoute({
  method: "get",
  path: LIVE_PATH,
  tags: ["notifications"],
  summary: "The caller's notifications as they happen, over a WebSocket (ticket from POST …/live/tickets)",
  description:
    'A WebSocket upgrade (RFC 6455). The server sends JSON messages: `{"type":"ready"}` once, then ' +
    '`{"type":"notification","notification":Notification}` for each new one. The client sends ' +
    "nothing but `ping` (answered `pong`). A stream carries only what is already in the inbox: after a " +
    "reconnection, read `GET /v1/notifications` for what happened meanwhile.",
  request: {
    query: z.object({ ticket: z.string().describe("from POST /v1/notifications/live/tickets") }),
  },
  responses: {
    101: { description: "Switching protocols: the stream is open" },
    426: { description: "Not a WebSocket upgrade" },
  },
});

/** A ticket: the user's stream object id, then the secret only that object can check. */
const ticketPattern = /^([0-9a-f]{64})\.([A-Za-z0-9_-]{43})$/;

export function registerLiveRoutes(app: OpenAPIHono<ServiceEnv>): void {
  const authed = app as unknown as OpenAPIHono<AuthedEnv>;

  authed.openapi(ticketRoute, async (c) => {
    const env = c.env as unknown as Env;
    const objectId = env.NOTIFICATION_STREAM.idFromName(c.var.principal.subject);
    const secret = await streamOf(env, c.var.principal.subject).issueTicket();
    const ticket = `${objectId.toString()}.${secret}`;
    const url = new URL(`${LIVE_PATH}?ticket=${ticket}`, env.TOKEN_ISSUER);
    url.protocol = url.protocol === "http:" ? "ws:" : "wss:";
    c.header("cache-control", "no-store");
    return c.json({ ticket, url: url.toString(), expiresIn: TICKET_TTL_SECONDS }, 201);
  });

  app.openapi(streamRoute, async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new AppError(
        "upgrade_required",
        "This is a WebSocket endpoint: connect with an Upgrade: websocket request.",
        {
          headers: { upgrade: "websocket" },
        },
      );
    }
    const match = ticketPattern.exec(c.req.valid("query").ticket);
    const unauthorized = () => new AppError("unauthorized", "The ticket is unknown, expired or already used.");
    if (!match?.[1] || !match[2]) throw unauthorized();
    const streams = (c.env as unknown as Env).NOTIFICATION_STREAM;
    let objectId: DurableObjectId;
    try {
      objectId = streams.idFromString(match[1]);
    } catch {
      throw unauthorized();
    }
    const headers = new Headers({ upgrade: "websocket", "x-ticket-secret": match[2] });
    const answer = await streams.get(objectId).fetch("https://stream.internal/", { headers });
    if (answer.status !== 101 || !answer.webSocket) throw unauthorized();
    return new Response(null, { status: 101, webSocket: answer.webSocket });
  });
}
