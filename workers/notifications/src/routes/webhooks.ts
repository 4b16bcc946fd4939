import type { AuthVariables } from "@edgebank/auth";
import { isId } from "@edgebank/ids";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { notifiedEvents } from "../domain/notifications.ts";
import { deleteWebhook, enableWebhook, listDeliveries, listOwnedWebhooks, type WebhookRow } from "../repo/webhooks.ts";
import { createWebhook, ownedWebhook } from "../services/webhooks.ts";

type AuthedEnv = ServiceEnv & { Variables: AuthVariables };

const webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    status: z.enum(["active", "disabled"]),
    disabledReason: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("Webhook");

const delivery = z
  .object({
    id: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    status: z.enum(["pending", "delivered", "failed", "abandoned"]),
    attempts: z.number(),
    lastStatus: z.number().nullable(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi("WebhookDelivery");

const present = (row: WebhookRow) => ({
  id: row.id,
  url: row.url,
  events: row.events,
  status: row.status,
  disabledReason: row.disabledReason,
  createdAt: row.createdAt.toISOString(),
});

const webhookId = z.object({
  id: z
    .string()
    .refine((value) => isId("webhook", value), "not a webhook id")
    .openapi({ param: { name: "id", in: "path" } }),
});

const createRouteDef = createRoute({
  method: "post",
  path: "/v1/webhooks",
  tags: ["webhooks"],
  summary: "Register an endpoint for the events that concern the caller",
  description:
    "Deliveries are POSTs of the event (CloudEvents JSON) signed with `Edgebank-Signature: " +
    "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>`, keyed with the secret answered " +
    "here, once. Non-2xx answers are retried with growing pauses; an endpoint that keeps failing " +
    "is disabled and its owner notified.",
  security: [{ bearer: [] }],
  middleware: [authenticated("notifications:write")] as const,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z
            .object({
              url: z.string().max(2048),
              events: z.array(z.enum(notifiedEvents)).min(1).max(notifiedEvents.length),
            })
            .strict(),
        },
      },
      required: true,
    },
  },
  responses: {
    201: {
      description: "Registered; the secret is never shown again",
      content: { "application/json": { schema: webhook.extend({ secret: z.string() }) } },
    },
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/webhooks",
  tags: ["webhooks"],
  summary: "The caller's endpoints",
  security: [{ bearer: [] }],
  middleware: [authenticated("notifications:read")] as const,
  responses: {
    200: {
      description: "Endpoints",
      content: { "application/json": { schema: z.object({ items: z.array(webhook) }) } },
    },
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}",
  tags: ["webhooks"],
  summary: "One of the caller's endpoints",
  security: [{ bearer: [] }],
  middleware: [authenticated("notifications:read")] as const,
  request: { params: webhookId },
  responses: { 200: { description: "The endpoint", content: { "application/json": { schema: webhook } } } },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  tags: ["webhooks"],
  summary: "Remove an endpoint: nothing more is delivered to it",
  security: [{ bearer: [] }],
  middleware: [authenticated("notifications:write")] as const,
  request: { params: webhookId },
  responses: { 204: { description: "Removed" } },
});

const enableRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/enable",
  tags: ["webhooks"],
  summary: "Enable a disabled endpoint again (after fixing it); new events are delivered",
  security: [{ bearer: [] }],
  middleware: [authenticated("notifications:write")] as const,
  request: { params: webhookId },
  responses: { 200: { description: "The endpoint", content: { "application/json": { schema: webhook } } } },
});

const deliveriesRoute = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  tags: ["webhooks"],
  summary: "The delivery log of an endpoint, newest first",
  security: [{ bearer: [] }],
  middleware: [authenticated("notifications:read")] as const,
  request: {
    params: webhookId,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z
        .string()
        .refine((value) => isId("webhookDelivery", value), "not a cursor from this API")
        .optional(),
    }),
  },
  responses: {
    200: {
      description: "Deliveries",
      content: {
        "application/json": { schema: z.object({ items: z.array(delivery), nextCursor: z.string().optional() }) },
      },
    },
  },
});

export function registerWebhookRoutes(app: OpenAPIHono<ServiceEnv>): void {
  const authed = app as unknown as OpenAPIHono<AuthedEnv>;

  const owned = (c: { var: AuthedEnv["Variables"] }, id: string) =>
    ownedWebhook(c.var.db(), c.var.principal.subject, id);

  authed.openapi(createRouteDef, async (c) => {
    const ctx = { db: c.var.db(), env: c.env, ownerId: c.var.principal.subject };
    const { row, secret } = await createWebhook(ctx, c.req.valid("json"));
    c.header("cache-control", "no-store");
    c.header("location", `/v1/webhooks/${row.id}`);
    return c.json({ ...present(row), secret }, 201);
  });

  authed.openapi(listRoute, async (c) => {
    const rows = await listOwnedWebhooks(c.var.db(), c.var.principal.subject);
    c.header("cache-control", "no-store");
    return c.json({ items: rows.map(present) }, 200);
  });

  authed.openapi(getRoute, async (c) => c.json(present(await owned(c, c.req.valid("param").id)), 200));

  authed.openapi(deleteRoute, async (c) => {
    const row = await owned(c, c.req.valid("param").id);
    await deleteWebhook(c.var.db(), row.id);
    return c.body(null, 204);
  });

  authed.openapi(enableRoute, async (c) => {
    const row = await owned(c, c.req.valid("param").id);
    return c.json(present((await enableWebhook(c.var.db(), row.id)) ?? row), 200);
  });

  authed.openapi(deliveriesRoute, async (c) => {
    const row = await owned(c, c.req.valid("param").id);
    const { limit, cursor } = c.req.valid("query");
    const rows = await listDeliveries(c.var.db(), row.id, { limit, cursor });
    const items = rows.slice(0, limit).map((d) => ({
      id: d.id,
      eventId: d.eventId,
      eventType: d.eventType,
      status: d.status,
      attempts: d.attempts,
      lastStatus: d.lastStatus,
      lastError: d.lastError,
      nextAttemptAt: d.status === "pending" ? d.nextAttemptAt.toISOString() : null,
      createdAt: d.createdAt.toISOString(),
      deliveredAt: d.deliveredAt?.toISOString() ?? null,
    }));
    c.header("cache-control", "no-store");
    const nextCursor = rows.length > limit ? items.at(-1)?.id : undefined;
    return c.json({ items, ...(nextCursor ? { nextCursor } : {}) }, 200);
  });
}
