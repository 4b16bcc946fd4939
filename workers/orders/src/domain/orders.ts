import type { Principal } from "@edgebank/auth";
import type { Database, Transaction } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { newId, newUuidV7 } from "@edgebank/ids";
import { type Begun, beginIdempotent, idempotentAnswers } from "@edgebank/service/idempotency";
import { and, desc, eq, inArray, lt } from "drizzle-orm";
import { idempotencyRecords, type OrderStatus, orderLines, orders, outbox } from "../db/schema.ts";

export type OrderRow = typeof orders.$inferSelect;
export type LineRow = typeof orderLines.$inferSelect;

export interface PricedLine {
  sku: string;
  quantity: number;
  unitPrice: bigint;
}

export function presentOrder(row: OrderRow, lines: LineRow[]) {
  return {
    id: row.id,
    status: row.status,
    payerAccountId: row.payerAccountId,
    merchantId: row.merchantId,
    currency: row.currency,
    total: row.total.toString(),
    lines: lines.map((line) => ({ sku: line.sku, quantity: line.quantity, unitPrice: line.unitPrice.toString() })),
    ...(row.reason ? { reason: row.reason } : {}),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** An order event's data (the catalog's `order` shape). */
export function orderEventData(row: OrderRow, lines: LineRow[]): Record<string, unknown> {
  return {
    orderId: row.id,
    buyerId: row.buyerId,
    payerAccountId: row.payerAccountId,
    merchantId: row.merchantId,
    currency: row.currency,
    total: row.total.toString(),
    lines: lines.map((line) => ({ sku: line.sku, quantity: line.quantity, unitPrice: line.unitPrice.toString() })),
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
  };
}

async function writeEvent(tx: Transaction, type: string, row: OrderRow, lines: LineRow[], traceparent?: string) {
  await tx.insert(outbox).values({
    id: newUuidV7(),
    aggregateId: row.id,
    type,
    payload: orderEventData(row, lines),
    traceparent: traceparent ?? null,
  });
}

export type BegunOrder = Begun<OrderRow>;

/** Records the answer to a placed order under its Idempotency-Key: every repeat of the key gets it. */
export const rememberOrderAnswer = idempotentAnswers(idempotencyRecords);

/**
 * Places an order under the caller's Idempotency-Key: the order, its priced lines and its
 * OrderCreated event in one transaction. Payment and stock follow by events.
 */
export async function placeOrder(
  db: Database,
  principal: Principal,
  key: string,
  fingerprint: string,
  input: { payerAccountId: string; merchantId: string; currency: string; lines: PricedLine[]; traceparent?: string },
): Promise<BegunOrder> {
  const request = { principal: principal.subject, key, fingerprint, resourceId: newId("order") };
  return beginIdempotent(db, idempotencyRecords, request, {
    load: async (tx, id) => (await tx.select().from(orders).where(eq(orders.id, id)))[0],
    create: async (tx, id) => {
      const total = input.lines.reduce((sum, line) => sum + line.unitPrice * BigInt(line.quantity), 0n);
      const [order] = await tx
        .insert(orders)
        .values({
          id,
          buyerId: principal.subject,
          payerAccountId: input.payerAccountId,
          merchantId: input.merchantId,
          currency: input.currency,
          total,
        })
        .returning();
      if (!order) throw new Error("order insert returned nothing");
      const lines = await tx
        .insert(orderLines)
        .values(input.lines.map((line) => ({ orderId: id, ...line })))
        .returning();
      await writeEvent(tx, "OrderCreated", order, lines, input.traceparent);
      return order;
    },
  });
}

export async function linesOf(db: Database | Transaction, orderIds: string[]): Promise<Map<string, LineRow[]>> {
  const byOrder = new Map<string, LineRow[]>();
  if (orderIds.length === 0) return byOrder;
  for (const line of await db.select().from(orderLines).where(inArray(orderLines.orderId, orderIds))) {
    byOrder.set(line.orderId, [...(byOrder.get(line.orderId) ?? []), line]);
  }
  return byOrder;
}

/**
 * Moves an order to `to` if it is in one of `from` (with `reason` for a cancellation), writing
 * the event of the new state in the same transaction; answers the order as it is after. The
 * same move again changes nothing.
 */
export async function moveOrder(
  db: Database,
  id: string,
  from: readonly OrderStatus[],
  to: OrderStatus,
  options: { reason?: string; event?: string } = {},
): Promise<{ order: OrderRow; moved: boolean }> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(orders).where(eq(orders.id, id)).for("update");
    if (!current) throw new AppError("not_found", `Order ${id} does not exist.`);
    if (current.status === to || !from.includes(current.status)) return { order: current, moved: false };
    const [order] = await tx
      .update(orders)
      .set({ status: to, updatedAt: new Date(), ...(options.reason ? { reason: options.reason } : {}) })
      .where(eq(orders.id, id))
      .returning();
    if (!order) throw new Error("order update returned nothing");
    if (options.event) await writeEvent(tx, options.event, order, (await linesOf(tx, [id])).get(id) ?? []);
    return { order, moved: true };
  });
}

/** An order its buyer (or an operator or auditor) may see; 404 to everyone else. */
export async function getVisibleOrder(db: Database, principal: Principal, id: string): Promise<OrderRow> {
  const [row] = await db.select().from(orders).where(eq(orders.id, id));
  const sees =
    row && (row.buyerId === principal.subject || principal.scopes.has("operator") || principal.scopes.has("auditor"));
  if (!row || !sees) throw new AppError("not_found", `Order ${id} does not exist.`);
  return row;
}

/** The caller's orders, newest first. */
export async function listOrders(
  db: Database,
  principal: Principal,
  page: { limit: number; cursor?: string | undefined },
) {
  const rows = await db
    .select()
    .from(orders)
    .where(and(eq(orders.buyerId, principal.subject), page.cursor ? lt(orders.id, page.cursor) : undefined))
    .orderBy(desc(orders.id))
    .limit(page.limit + 1);
  const shown = rows.slice(0, page.limit);
  const lines = await linesOf(
    db,
    shown.map((row) => row.id),
  );
  const items = shown.map((row) => presentOrder(row, lines.get(row.id) ?? []));
  return { items, nextCursor: rows.length > page.limit ? items.at(-1)?.id : undefined };
}
