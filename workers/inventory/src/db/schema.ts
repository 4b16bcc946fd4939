import { deadLetterTable, inboxTable } from "@edgebank/consumer/table";
import { outboxTable } from "@edgebank/outbox/table";
import { sql } from "drizzle-orm";
import { bigint, check, index, integer, jsonb, pgSchema, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** Every table of the inventory service lives in this schema of the inventory database. */
export const inventorySchema = pgSchema("inventory");

/**
 * Products and their stock. `on_hand` is what is in the warehouse; `reserved` is held for orders
 * not yet confirmed; what can be sold is `on_hand - reserved`. The database refuses any state
 * where reserved exceeds on hand or either is negative, so no code path can oversell.
 */
export const products = inventorySchema.table(
  "products",
  {
    sku: text("sku").primaryKey(),
    name: text("name").notNull(),
    price: bigint("price", { mode: "bigint" }).notNull(),
    currency: text("currency").notNull(),
    merchantId: text("merchant_id").notNull(),
    ownerId: text("owner_id").notNull(),
    onHand: integer("on_hand").notNull().default(0),
    reserved: integer("reserved").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    check("products_sku_format", sql`${t.sku} ~ '^[A-Z0-9][A-Z0-9._-]{0,63}$'`),
    check("products_price_positive", sql`${t.price} > 0`),
    check("products_stock_consistent", sql`${t.reserved} >= 0 and ${t.onHand} >= ${t.reserved}`),
    index("products_merchant_idx").on(t.merchantId),
  ],
);

/** Every change of a product's stock by its merchant, with who did it. */
export const restocks = inventorySchema.table("restocks", {
  id: text("id").primaryKey(),
  sku: text("sku")
    .notNull()
    .references(() => products.sku),
  quantity: integer("quantity").notNull(),
  actor: text("actor").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

export const reservationStatuses = ["HELD", "REJECTED", "COMMITTED", "RELEASED", "EXPIRED"] as const;
export type ReservationStatus = (typeof reservationStatuses)[number];

/**
 * One reservation per order (the order id is unique: reserving again answers the first
 * outcome). HELD counts in `products.reserved` until it is COMMITTED (stock leaves), RELEASED
 * (the order was cancelled) or EXPIRED (never confirmed in time). REJECTED holds nothing.
 */
export const reservations = inventorySchema.table(
  "reservations",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id").notNull().unique(),
    status: text("status", { enum: reservationStatuses }).notNull(),
    reason: text("reason"),
    expiresAt: timestamp("expires_at", { withTimezone: true, precision: 3 }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index("reservations_held_idx").on(t.expiresAt).where(sql`${t.status} = 'HELD'`)],
);

export const reservationItems = inventorySchema.table(
  "reservation_items",
  {
    reservationId: text("reservation_id")
      .notNull()
      .references(() => reservations.id),
    sku: text("sku")
      .notNull()
      .references(() => products.sku),
    quantity: integer("quantity").notNull(),
  },
  (t) => [
    primaryKey({ name: "reservation_items_pk", columns: [t.reservationId, t.sku] }),
    check("reservation_items_quantity_positive", sql`${t.quantity} > 0`),
  ],
);

/**
 * What each order asks for, learned from OrderCreated: the reservation is made from it once the
 * order's payment is authorized (a later event, read by another consumer).
 */
export const orderRequests = inventorySchema.table("order_requests", {
  orderId: text("order_id").primaryKey(),
  lines: jsonb("lines").$type<Array<{ sku: string; quantity: number }>>().notNull(),
  createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

/** StockReserved and StockRejected, written with the reservation they describe. */
export const outbox = outboxTable(inventorySchema);

/** The choreography's events this service applied, and those it could not. */
export const inbox = inboxTable(inventorySchema);
export const deadLetters = deadLetterTable(inventorySchema);
