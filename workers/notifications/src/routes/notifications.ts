import type { AuthVariables } from "@edgebank/auth";
import { AppError } from "@edgebank/errors";
import { isId } from "@edgebank/ids";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { consumerStatuses } from "../consumers.ts";
import { publishLive } from "../live/publish.ts";
import { listDeadLetters } from "../repo/dead-letters.ts";
import { listNotifications, markNotificationRead, presentNotification as present } from "../repo/notifications.ts";
import { redrive } from "../services/dead-letters.ts";

type AuthedEnv = ServiceEnv & { Variables: AuthVariables };

const notification = z
  .object({
    id: z.string(),
    type: z.string().describe("the event type it came from (or WebhookDisabled)"),
    eventId: z.string(),
    title: z.string(),
    body: z.string(),
    data: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    readAt: z.string().nullable(),
  })
  .openapi("Notification");

const notificationId = z.object({
  id: z
    .string()
    .refine((value) => isId("notification", value), "not a notification id")
    .openapi({ param: { name: "id", in: "path" } }),
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/notifications",
  tags: ["notifications"],
  summary: "The caller's notifications, newest first",
  security: [{ bearer: [] }],
  middleware: [authenticated("notifications:read")] as const,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z
        .string()
        .refine((value) => isId("notification", value), "not a cursor from this API")
        .optional(),
      unread: z.enum(["true", "false"]).optional().describe("true: only those not read yet"),
    }),
  },
  responses: {
    200: {
      description: "A page of notifications",
      content: {
        "application/json": {
          schema: z.object({ items: z.array(notification), nextCursor: z.string().optional() }),
        },
      },
    },
  },
});

const readRoute = createRoute({
  method: "post",
  path: "/v1/notifications/{id}/read",
  tags: ["notifications"],
  summary: "Mark one of the caller's notifications as read (again: no change)",
  security: [{ bearer: [] }],
  middleware: [authenticated("notifications:write")] as const,
  request: { params: notificationId },
  responses: {
    200: { description: "The notification, read", content: { "application/json": { schema: notification } } },
  },
});

const deadLetter = z
  .object({
    id: z.string(),
    consumer: z.string(),
    topic: z.string(),
    partition: z.number(),
    offset: z.number(),
    eventId: z.string().nullable(),
    type: z.string().nullable(),
    error: z.string(),
    attempts: z.number(),
    deadAt: z.string(),
    redrivenAt: z.string().nullable(),
    redrivenBy: z.string().nullable(),
    value: z.unknown(),
  })
  .openapi("DeadLetter");

const deadLetterId = z.object({
  id: z
    .string()
    .refine((value) => isId("deadLetter", value), "not a dead letter id")
    .openapi({ param: { name: "id", in: "path" } }),
});

const deadLettersRoute = createRoute({
  method: "get",
  path: "/v1/notifications/dead-letters",
  tags: ["notifications", "operator"],
  summary: "Operator: events the notifications consumers could not apply, newest first",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  request: {
    query: z.object({
      waiting: z.enum(["true", "false"]).default("true").describe("true: only those not redriven yet"),
      limit: z.coerce.number().int().min(1).max(100).default(50),
    }),
  },
  responses: {
    200: {
      description: "Dead letters",
      content: { "application/json": { schema: z.object({ items: z.array(deadLetter) }) } },
    },
  },
});

const redriveRoute = createRoute({
  method: "post",
  path: "/v1/notifications/dead-letters/{id}/redrive",
  tags: ["notifications", "operator"],
  summary: "Operator: apply a dead-lettered event again, once (after the cause was fixed)",
  description:
    "Runs the event through its consumer's handler with the inbox: applied now, or already applied " +
    "meanwhile (nothing changes). A handler that still fails answers 422 and the letter stays waiting.",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  request: { params: deadLetterId },
  responses: {
    200: {
      description: "Redriven",
      content: {
        "application/json": {
          schema: z.object({ id: z.string(), outcome: z.enum(["applied", "already_applied"]) }),
        },
      },
    },
  },
});

const consumersRoute = createRoute({
  method: "get",
  path: "/v1/notifications/consumers",
  tags: ["notifications", "operator"],
  summary: "Operator: the notifications service's consumers, their positions and last batch",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  responses: {
    200: {
      description: "Consumers",
      content: { "application/json": { schema: z.object({ items: z.array(z.record(z.string(), z.unknown())) }) } },
    },
  },
});

export function registerNotificationRoutes(app: OpenAPIHono<ServiceEnv>): void {
  const authed = app as unknown as OpenAPIHono<AuthedEnv>;

  authed.openapi(listRoute, async (c) => {
    const { limit, cursor, unread } = c.req.valid("query");
    const rows = await listNotifications(c.var.db(), c.var.principal.subject, {
      limit,
      cursor,
      unreadOnly: unread === "true",
    });
    const items = rows.slice(0, limit).map(present);
    c.header("cache-control", "no-store");
    const nextCursor = rows.length > limit ? items.at(-1)?.id : undefined;
    return c.json({ items, ...(nextCursor ? { nextCursor } : {}) }, 200);
  });

  authed.openapi(readRoute, async (c) => {
    const { id } = c.req.valid("param");
    const row = await markNotificationRead(c.var.db(), c.var.principal.subject, id);
    // Someone else's notification does not exist, as far as the caller can tell.
    if (!row) throw new AppError("not_found", "Notification does not exist.");
    return c.json(present(row), 200);
  });

  authed.openapi(deadLettersRoute, async (c) => {
    const { waiting, limit } = c.req.valid("query");
    const rows = await listDeadLetters(c.var.db(), { limit, waitingOnly: waiting === "true" });
    c.header("cache-control", "no-store");
    return c.json(
      {
        items: rows.map((row) => ({
          id: row.id,
          consumer: row.consumer,
          topic: row.topic,
          partition: row.partition,
          offset: row.offset,
          eventId: row.eventId,
          type: row.type,
          error: row.error,
          attempts: row.attempts,
          deadAt: row.deadAt.toISOString(),
          redrivenAt: row.redrivenAt?.toISOString() ?? null,
          redrivenBy: row.redrivenBy,
          value: row.value,
        })),
      },
      200,
    );
  });

  authed.openapi(redriveRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { outcome, eventId } = await redrive({ db: c.var.db(), env: c.env }, id, c.var.principal.subject);
    // What it became reaches its users' open apps, as a consumed event's would.
    if (outcome === "applied" && eventId) c.executionCtx.waitUntil(publishLive(c.env as unknown as Env, [eventId]));
    c.var.log.info("dead letter redriven", {
      deadLetterId: id,
      outcome,
      actor: c.var.principal.subject,
    });
    return c.json({ id, outcome }, 200);
  });

  authed.openapi(consumersRoute, async (c) => {
    c.header("cache-control", "no-store");
    return c.json({ items: await consumerStatuses(c.env) }, 200);
  });
}
