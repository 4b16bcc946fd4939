import { env } from "cloudflare:workers";
import { type Database, withDatabase } from "@edgebank/db";
import { isAppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { products, reservations } from "../src/db/schema.ts";
import { endReservation, expireReservations, reserveStock, restock } from "../src/domain/stock.ts";

/**
 * Stock against the inventory service's real database: reservations never oversell, whatever
 * their timing; each order reserves once; all of an order's lines or none.
 */
const inDatabase = <T>(work: (db: Database) => Promise<T>) =>
  withDatabase(
    { driver: "hyperdrive", connectionString: env.INVENTORY_DB.connectionString, prepare: env.DB_PREPARE === "true" },
    work,
  );

async function product(onHand: number): Promise<string> {
  const sku = `SKU-${crypto.randomUUID().slice(0, 8).toUpperCase()}`;
  await inDatabase((db) =>
    db.insert(products).values({
      sku,
      name: "Widget",
      price: 1_500n,
      currency: "EUR",
      merchantId: newId("merchant"),
      ownerId: "usr_test_merchant",
      onHand,
    }),
  );
  return sku;
}

const stockOf = async (sku: string) => {
  const [row] = await inDatabase((db) => db.select().from(products).where(eq(products.sku, sku)));
  return { onHand: row?.onHand, reserved: row?.reserved };
};

const order = () => newId("order");

describe("reservations", () => {
  it("50 concurrent orders for the last 10 items: exactly 10 held, 40 rejected, never negative", async () => {
    const sku = await product(10);
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () =>
        inDatabase((db) => reserveStock(db, { orderId: order(), lines: [{ sku, quantity: 1 }], holdSeconds: 600 })),
      ),
    );
    expect(outcomes.filter((o) => o.status === "HELD")).toHaveLength(10);
    const rejected = outcomes.filter((o) => o.status === "REJECTED");
    expect(rejected).toHaveLength(40);
    expect(new Set(rejected.map((o) => o.reason))).toEqual(new Set([`out_of_stock:${sku}`]));
    expect(await stockOf(sku)).toEqual({ onHand: 10, reserved: 10 });
    // Confirmed, the stock leaves: nothing on hand, nothing reserved.
    for (const held of outcomes.filter((o) => o.status === "HELD")) {
      await inDatabase((db) => endReservation(db, held.orderId, "COMMITTED"));
    }
    expect(await stockOf(sku)).toEqual({ onHand: 0, reserved: 0 });
  });

  it("reserves once per order, however often and however concurrently it is asked", async () => {
    const sku = await product(5);
    const orderId = order();
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        inDatabase((db) => reserveStock(db, { orderId, lines: [{ sku, quantity: 2 }], holdSeconds: 600 })),
      ),
    );
    expect(new Set(outcomes.map((o) => o.reservationId)).size).toBe(1);
    expect(outcomes.every((o) => o.status === "HELD")).toBe(true);
    expect(await stockOf(sku)).toEqual({ onHand: 5, reserved: 2 });
  });

  it("takes all of an order's lines or none", async () => {
    const [plenty, scarce] = [await product(10), await product(1)];
    const outcome = await inDatabase((db) =>
      reserveStock(db, {
        orderId: order(),
        lines: [
          { sku: plenty, quantity: 3 },
          { sku: scarce, quantity: 2 },
        ],
        holdSeconds: 600,
      }),
    );
    expect(outcome).toMatchObject({ status: "REJECTED", reason: `out_of_stock:${scarce}` });
    expect(await stockOf(plenty)).toEqual({ onHand: 10, reserved: 0 });
    const unknown = await inDatabase((db) =>
      reserveStock(db, { orderId: order(), lines: [{ sku: "SKU-NOPE", quantity: 1 }], holdSeconds: 600 }),
    );
    expect(unknown).toMatchObject({ status: "REJECTED", reason: "unknown_product:SKU-NOPE" });
  });

  it("release and expiry give the stock back; a released order cannot be committed, nor a committed one released", async () => {
    const sku = await product(3);
    const [a, b] = [order(), order()];
    for (const orderId of [a, b]) {
      await inDatabase((db) => reserveStock(db, { orderId, lines: [{ sku, quantity: 1 }], holdSeconds: 600 }));
    }
    expect(await stockOf(sku)).toEqual({ onHand: 3, reserved: 2 });
    await inDatabase((db) => endReservation(db, a, "RELEASED"));
    expect((await inDatabase((db) => endReservation(db, a, "RELEASED"))).status).toBe("RELEASED");
    expect(await stockOf(sku)).toEqual({ onHand: 3, reserved: 1 });
    const late = await inDatabase((db) => endReservation(db, a, "COMMITTED")).catch((error: unknown) => error);
    expect(isAppError(late) && late.status).toBe(409);
    await inDatabase((db) => endReservation(db, b, "COMMITTED"));
    const undo = await inDatabase((db) => endReservation(db, b, "RELEASED")).catch((error: unknown) => error);
    expect(isAppError(undo) && undo.status).toBe(409);
    expect(await stockOf(sku)).toEqual({ onHand: 2, reserved: 0 });

    // A hold nobody confirms lapses.
    const c = order();
    await inDatabase((db) => reserveStock(db, { orderId: c, lines: [{ sku, quantity: 2 }], holdSeconds: 600 }));
    await inDatabase((db) =>
      db.update(reservations).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(reservations.orderId, c)),
    );
    expect(await inDatabase((db) => expireReservations(db))).toBeGreaterThanOrEqual(1);
    expect(await stockOf(sku)).toEqual({ onHand: 2, reserved: 0 });
  });

  it("restocks are recorded; the database itself refuses to oversell", async () => {
    const sku = await product(1);
    expect(await inDatabase((db) => restock(db, sku, 4, "usr_test_merchant"))).toBe(5);
    const oversell = await inDatabase((db) =>
      db.update(products).set({ reserved: 6 }).where(eq(products.sku, sku)),
    ).catch((error: unknown) => error);
    expect(String((oversell as { cause?: unknown }).cause ?? oversell)).toContain("products_stock_consistent");
  });
});
