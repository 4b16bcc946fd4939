import { type Database, databaseError, resultRows } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import { products, type ReservationStatus, reservationItems, reservations, restocks } from "../db/schema.ts";

/**
 * Stock, serialized per SKU by PostgreSQL row locks. A reservation locks every product row it
 * needs (`SELECT … FOR UPDATE`, in SKU order, so two orders never wait on each other in a
 * cycle), checks what is available, and moves `reserved` in the same transaction: all of an
 * order's items or none. Chosen over a Durable Object per SKU because an order spans SKUs and
 * must reserve them atomically: one transaction gives that; objects per SKU would need a
 * two-phase protocol between them. The table's check constraint refuses overselling whatever
 * the code does.
 */

export interface StockLine {
  sku: string;
  quantity: number;
}

export interface ReservationOutcome {
  reservationId: string;
  orderId: string;
  status: ReservationStatus;
  reason: string | null;
}

/** The lines of an order, one per SKU (quantities of a repeated SKU added), in SKU order. */
export function normalizeLines(lines: readonly StockLine[]): StockLine[] {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return [...bySku].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([sku, quantity]) => ({ sku, quantity }));
}

async function existing(db: Database, orderId: string): Promise<ReservationOutcome | undefined> {
  const [row] = await db.select().from(reservations).where(eq(reservations.orderId, orderId));
  return row ? { reservationId: row.id, orderId, status: row.status, reason: row.reason } : undefined;
}

/**
 * Reserves an order's lines for `holdSeconds`: HELD (the stock is set aside), or REJECTED
 * (`out_of_stock:<sku>`, `unknown_product:<sku>`; nothing set aside). Once per order: again,
 * concurrently or later, it answers the first outcome and sets nothing aside twice.
 */
export async function reserveStock(
  db: Database,
  input: { orderId: string; lines: readonly StockLine[]; holdSeconds: number },
): Promise<ReservationOutcome> {
  const first = await existing(db, input.orderId);
  if (first) return first;
  const lines = normalizeLines(input.lines);
  if (lines.length === 0 || lines.some((line) => !Number.isInteger(line.quantity) || line.quantity <= 0)) {
    throw new AppError("validation_failed", "A reservation needs lines with positive whole quantities.");
  }
  const id = newId("reservation");
  try {
    return await db.transaction(async (tx) => {
      const skus = lines.map((line) => line.sku);
      const locked = await tx
        .select({ sku: products.sku, onHand: products.onHand, reserved: products.reserved })
        .from(products)
        .where(inArray(products.sku, skus))
        .orderBy(products.sku)
        .for("update");
      let reason: string | null = null;
      for (const line of lines) {
        const product = locked.find((p) => p.sku === line.sku);
        if (!product) reason ??= `unknown_product:${line.sku}`;
        else if (product.onHand - product.reserved < line.quantity) reason ??= `out_of_stock:${line.sku}`;
      }
      const status: ReservationStatus = reason ? "REJECTED" : "HELD";
      await tx.insert(reservations).values({
        id,
        orderId: input.orderId,
        status,
        reason,
        expiresAt: sql`now() + make_interval(secs => ${input.holdSeconds})`,
      });
      if (status === "HELD") {
        await tx.insert(reservationItems).values(lines.map((line) => ({ reservationId: id, ...line })));
        for (const line of lines) {
          await tx
            .update(products)
            .set({ reserved: sql`${products.reserved} + ${line.quantity}`, updatedAt: new Date() })
            .where(eq(products.sku, line.sku));
        }
      }
      return { reservationId: id, orderId: input.orderId, status, reason };
    });
  } catch (error) {
    // The same order reserved concurrently: the other transaction won; answer its outcome.
    if (databaseError(error)?.code === "23505") {
      const winner = await existing(db, input.orderId);
      if (winner) return winner;
    }
    throw error;
  }
}

/**
 * Ends a HELD reservation: COMMITTED (the stock leaves the warehouse) or RELEASED / EXPIRED
 * (it is available again). Again with the same end: the same answer, nothing moved twice; a
 * reservation that already ended otherwise is a 409 (a committed order cannot be released).
 */
export async function endReservation(
  db: Database,
  orderId: string,
  end: "COMMITTED" | "RELEASED" | "EXPIRED",
): Promise<ReservationOutcome> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(reservations).where(eq(reservations.orderId, orderId)).for("update");
    if (!row) throw new AppError("not_found", `No reservation for order ${orderId}.`);
    const outcome = { reservationId: row.id, orderId, status: row.status, reason: row.reason };
    if (row.status === end) return outcome;
    if (row.status !== "HELD") {
      throw new AppError("conflict", `The reservation of order ${orderId} is ${row.status}.`, {
        extensions: { status: row.status },
      });
    }
    const items = await tx
      .select()
      .from(reservationItems)
      .where(eq(reservationItems.reservationId, row.id))
      .orderBy(reservationItems.sku);
    // Lock the products in SKU order, as reservations do.
    await tx
      .select({ sku: products.sku })
      .from(products)
      .where(
        inArray(
          products.sku,
          items.map((item) => item.sku),
        ),
      )
      .orderBy(products.sku)
      .for("update");
    for (const item of items) {
      await tx
        .update(products)
        .set({
          reserved: sql`${products.reserved} - ${item.quantity}`,
          ...(end === "COMMITTED" ? { onHand: sql`${products.onHand} - ${item.quantity}` } : {}),
          updatedAt: new Date(),
        })
        .where(eq(products.sku, item.sku));
    }
    await tx.update(reservations).set({ status: end, updatedAt: new Date() }).where(eq(reservations.id, row.id));
    return { ...outcome, status: end };
  });
}

/** Expires HELD reservations past their time (the cron); how many. */
export async function expireReservations(db: Database, limit = 100): Promise<number> {
  const due = await db
    .select({ orderId: reservations.orderId })
    .from(reservations)
    .where(and(eq(reservations.status, "HELD"), lt(reservations.expiresAt, sql`now()`)))
    .limit(limit);
  let expired = 0;
  for (const { orderId } of due) {
    try {
      await endReservation(db, orderId, "EXPIRED");
      expired += 1;
    } catch (error) {
      // Confirmed or released meanwhile: nothing to expire.
      if (!(error instanceof AppError && error.code === "conflict")) throw error;
    }
  }
  return expired;
}

/** Adds stock to a product (a delivery), recorded with who did it; the new on-hand figure. */
export async function restock(db: Database, sku: string, quantity: number, actor: string): Promise<number> {
  if (!Number.isInteger(quantity) || quantity <= 0) {
    throw new AppError("validation_failed", "A restock adds a positive whole quantity.");
  }
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(products)
      .set({ onHand: sql`${products.onHand} + ${quantity}`, updatedAt: new Date() })
      .where(eq(products.sku, sku))
      .returning({ onHand: products.onHand });
    if (!row) throw new AppError("not_found", `Product ${sku} does not exist.`);
    await tx.insert(restocks).values({ id: newId("restock"), sku, quantity, actor });
    return row.onHand;
  });
}

/** What can be sold of each SKU now. */
export async function available(db: Database, skus: readonly string[]): Promise<Record<string, number>> {
  const rows = resultRows<{ sku: string; available: number }>(
    await db.execute(sql`select sku, on_hand - reserved as available from ${products} where sku in ${skus}`),
  );
  return Object.fromEntries(rows.map((row) => [row.sku, Number(row.available)]));
}
