import type { AuthVariables } from "@edgebank/auth";
import { AppError } from "@edgebank/errors";
import { formatTraceparent } from "@edgebank/http";
import { isId } from "@edgebank/ids";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { replayResponse, requestFingerprint } from "@edgebank/service/idempotency";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import {
  getVisibleOrder,
  linesOf,
  listOrders,
  moveOrder,
  type PricedLine,
  placeOrder,
  presentOrder,
  rememberOrderAnswer,
} from "../domain/orders.ts";
import { orderStatuses } from "../domain/statuses.ts";
import { relayOrderEvents } from "../events.ts";
import { catalogueProduct } from "../service.ts";

type AuthedEnv = ServiceEnv & { Variables: AuthVariables };

const order = z
  .object({
    id: z.string(),
    status: z.enum(orderStatuses),
    payerAccountId: z.string(),
    merchantId: z.string(),
    currency: z.string(),
    total: z.string(),
    lines: z.array(z.object({ sku: z.string(), quantity: z.number(), unitPrice: z.string() })),
    reason: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Order");

const orderId = z.object({
  id: z
    .string()
    .refine((value) => isId("order", value), "not an order id")
    .openapi({ param: { name: "id", in: "path" } }),
});

const createOrderRoute = createRoute({
  method: "post",
  path: "/v1/orders",
  tags: ["orders"],
  summary: "Order one merchant's products, paid from one of the caller's accounts",
  description:
    "Prices the lines from the catalogue and answers 202 with the PENDING order: payment (a hold on " +
    "the payer's account) and stock follow by events, ending CONFIRMED or CANCELLED with a reason. " +
    "Idempotency-Key required: a repeat gets the first answer.",
  security: [{ bearer: [] }],
  middleware: [authenticated("orders:write")] as const,
  request: {
    headers: z.object({ "idempotency-key": z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/) }),
    body: {
      content: {
        "application/json": {
          schema: z
            .object({
              payerAccountId: z.string().refine((value) => isId("account", value), "not an account id"),
              lines: z
                .array(
                  z
                    .object({
                      sku: z.string().regex(/^[A-Z0-9][A-Z0-9._-]{0,63}$/, "a SKU"),
                      quantity: z.number().int().min(1).max(1_000),
                    })
                    .strict(),
                )
                .min(1)
                .max(20),
            })
            .strict(),
        },
      },
      required: true,
    },
  },
  responses: {
    202: { description: "Placed; it proceeds by events", content: { "application/json": { schema: order } } },
  },
});

const getOrderRoute = createRoute({
  method: "get",
  path: "/v1/orders/{id}",
  tags: ["orders"],
  summary: "An order (its buyer, operators, auditors)",
  security: [{ bearer: [] }],
  middleware: [authenticated()] as const,
  request: { params: orderId },
  responses: { 200: { description: "The order", content: { "application/json": { schema: order } } } },
});

const listOrdersRoute = createRoute({
  method: "get",
  path: "/v1/orders",
  tags: ["orders"],
  summary: "The caller's orders, newest first",
  security: [{ bearer: [] }],
  middleware: [authenticated("orders:read")] as const,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z
        .string()
        .refine((value) => isId("order", value), "not a cursor from this API")
        .optional(),
    }),
  },
  responses: {
    200: {
      description: "A page of orders",
      content: {
        "application/json": { schema: z.object({ items: z.array(order), nextCursor: z.string().optional() }) },
      },
    },
  },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/v1/orders/{id}/cancel",
  tags: ["orders"],
  summary: "Cancel an order before it is confirmed (its hold and reservation are let go by events)",
  security: [{ bearer: [] }],
  middleware: [authenticated("orders:write")] as const,
  request: { params: orderId },
  responses: { 200: { description: "Cancelled", content: { "application/json": { schema: order } } } },
});

export function registerOrderRoutes(app: OpenAPIHono<ServiceEnv>): void {
  const authed = app as unknown as OpenAPIHono<AuthedEnv>;

  authed.openapi(createOrderRoute, async (c) => {
    const body = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    // Priced from the catalogue; one merchant and one currency per order.
    const merged = new Map<string, number>();
    for (const line of body.lines) merged.set(line.sku, (merged.get(line.sku) ?? 0) + line.quantity);
    const lines: PricedLine[] = [];
    let merchant: { merchantId: string; currency: string } | undefined;
    for (const [sku, quantity] of merged) {
      const product = await catalogueProduct(c.env, sku);
      if (!product) {
        throw new AppError("unprocessable", `Product ${sku} does not exist.`, {
          extensions: { reason: "unknown_product" },
        });
      }
      merchant ??= { merchantId: product.merchantId, currency: product.currency };
      if (product.merchantId !== merchant.merchantId) {
        throw new AppError("unprocessable", "An order holds one merchant's products.", {
          extensions: { reason: "several_merchants" },
        });
      }
      lines.push({ sku, quantity, unitPrice: BigInt(product.price) });
    }
    if (!merchant) throw new AppError("validation_failed", "An order needs lines.");
    const fingerprint = await requestFingerprint("POST", "/v1/orders", body);
    const begun = await placeOrder(c.var.db(), c.var.principal, key, fingerprint, {
      payerAccountId: body.payerAccountId,
      ...merchant,
      lines,
      traceparent: formatTraceparent(c.var.trace),
    });
    if (begun.kind === "replay") return replayResponse(begun) as never;
    const db = c.var.db();
    const present = presentOrder(begun.resource, (await linesOf(db, [begun.resource.id])).get(begun.resource.id) ?? []);
    await rememberOrderAnswer(db, c.var.principal, key, 202, present);
    c.executionCtx.waitUntil(relayOrderEvents(c.env, "commit"));
    c.header("location", `/v1/orders/${begun.resource.id}`);
    return c.json(present, 202);
  });

  authed.openapi(getOrderRoute, async (c) => {
    const db = c.var.db();
    const row = await getVisibleOrder(db, c.var.principal, c.req.valid("param").id);
    c.header("cache-control", "no-store");
    return c.json(presentOrder(row, (await linesOf(db, [row.id])).get(row.id) ?? []), 200);
  });

  authed.openapi(listOrdersRoute, async (c) => {
    const page = await listOrders(c.var.db(), c.var.principal, c.req.valid("query"));
    c.header("cache-control", "no-store");
    return c.json({ items: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }, 200);
  });

  authed.openapi(cancelRoute, async (c) => {
    const db = c.var.db();
    const visible = await getVisibleOrder(db, c.var.principal, c.req.valid("param").id);
    if (visible.buyerId !== c.var.principal.subject)
      throw new AppError("not_found", `Order ${visible.id} does not exist.`);
    const { order: row } = await moveOrder(db, visible.id, ["PENDING", "PAYMENT_AUTHORIZED"], "CANCELLED", {
      reason: "cancelled_by_customer",
      event: "OrderCancelled",
    });
    if (row.status !== "CANCELLED") {
      throw new AppError("conflict", `Order ${row.id} is ${row.status}: it can no longer be cancelled.`);
    }
    c.executionCtx.waitUntil(relayOrderEvents(c.env, "commit"));
    return c.json(presentOrder(row, (await linesOf(db, [row.id])).get(row.id) ?? []), 200);
  });
}
