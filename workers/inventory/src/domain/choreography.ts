import type { KnownEvent } from "@edgebank/consumer";
import type { Database, Transaction } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { expectEvent } from "@edgebank/events";
import { newUuidV7 } from "@edgebank/ids";
import { eq, sql } from "drizzle-orm";
import { orderRequests, outbox, products, reservationItems, reservations } from "../db/schema.ts";
import { endReservation, type ReservationOutcome, reserveStock } from "./stock.ts";

/**
 * Inventory's part of the order choreography, each handler in the consumer's transaction (with
 * the event's inbox row): OrderCreated → remember the lines; PaymentAuthorized → reserve them
 * (StockReserved or StockRejected); PaymentCaptured → commit; PaymentVoided, PaymentDeclined or
 * OrderCancelled → release (and, for an order cancelled after its stock was committed, put the stock back).
 */

const HOLD_SECONDS = 30 * 60;
const db = (tx: Transaction) => tx as unknown as Database;

async function writeEvent(tx: Transaction, type: string, outcome: ReservationOutcome, traceparent?: string) {
  await tx.insert(outbox).values({
    id: newUuidV7(),
    aggregateId: outcome.orderId,
    type,
    payload: {
      orderId: outcome.orderId,
      reservationId: outcome.reservationId,
      status: outcome.status,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
    },
    traceparent: traceparent ?? null,
  });
}

export async function rememberOrder(tx: Transaction, event: KnownEvent): Promise<void> {
  const { orderId, lines } = expectEvent(event, "OrderCreated").data;
  await tx
    .insert(orderRequests)
    .values({ orderId, lines: lines.map(({ sku, quantity }) => ({ sku, quantity })) })
    .onConflictDoNothing();
}

export async function reserveForOrder(tx: Transaction, event: KnownEvent): Promise<void> {
  const { orderId } = expectEvent(event, "PaymentAuthorized").data;
  if (!orderId) return; // a payment that pays no order
  const [request] = await tx.select().from(orderRequests).where(eq(orderRequests.orderId, orderId));
  // OrderCreated travels on another topic: it may not have been read yet. Try again later.
  if (!request) throw new Error(`the lines of order ${orderId} are not known yet`);
  const outcome = await reserveStock(db(tx), { orderId, lines: request.lines, holdSeconds: HOLD_SECONDS });
  await writeEvent(tx, outcome.status === "HELD" ? "StockReserved" : "StockRejected", outcome, event.traceparent);
}

async function endIfHeld(tx: Transaction, orderId: string, end: "COMMITTED" | "RELEASED") {
  try {
    return await endReservation(db(tx), orderId, end);
  } catch (error) {
    if (error instanceof AppError && (error.code === "not_found" || error.code === "conflict")) return undefined;
    throw error;
  }
}

export async function commitForOrder(tx: Transaction, event: KnownEvent): Promise<void> {
  const { orderId } = expectEvent(event, "PaymentCaptured").data;
  if (orderId) await endIfHeld(tx, orderId, "COMMITTED");
}

export async function releaseForOrder(tx: Transaction, event: KnownEvent): Promise<void> {
  const { orderId } = expectEvent(event, "OrderCancelled", "PaymentDeclined", "PaymentVoided").data;
  if (!orderId) return;
  const [row] = await tx.select().from(reservations).where(eq(reservations.orderId, orderId)).for("update");
  if (!row) return;
  if (row.status === "HELD") {
    await endReservation(db(tx), orderId, "RELEASED");
    return;
  }
  if (row.status !== "COMMITTED" || event.type !== "OrderCancelled") return;
  // Cancelled after the stock left (the cancel raced the capture; payments refunds): it comes back.
  const items = await tx.select().from(reservationItems).where(eq(reservationItems.reservationId, row.id));
  for (const item of items) {
    await tx
      .update(products)
      .set({ onHand: sql`${products.onHand} + ${item.quantity}`, updatedAt: new Date() })
      .where(eq(products.sku, item.sku));
  }
  await tx.update(reservations).set({ status: "RELEASED", updatedAt: new Date() }).where(eq(reservations.id, row.id));
}
