import { deadLetterTable, inboxTable } from "@edgebank/consumer/table";
import { outboxTable } from "@edgebank/outbox/table";
import { idempotencyTable } from "@edgebank/service/idempotency-table";
import { sql } from "drizzle-orm";
import { bigint, check, index, integer, pgSchema, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { orderStatuses } from "../domain/statuses.ts";

/** Every table of the orders service lives in this schema of the orders database. */
export const ordersSchema = pgSchema("orders");

/**
 * Orders: PENDING → PAYMENT_AUTHORIZED → CONFIRMED, or CANCELLED with a reason. The order is
 * priced when it is placed (the lines keep each unit price); one merchant and currency per order.
 */
export const orders = ordersSchema.table(
  "orders",
  {
    id: text("id").primaryKey(),
    buyerId: text("buyer_id").notNull(),
    payerAccountId: text("payer_account_id").notNull(),
    merchantId: text("merchant_id").notNull(),
    currency: text("currency").notNull(),
    total: bigint("total", { mode: "bigint" }).notNull(),
    status: text("status", { enum: orderStatuses }).notNull().default("PENDING"),
    reason: text("reason"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [check("orders_total_positive", sql`${t.total} > 0`), index("orders_buyer_idx").on(t.buyerId, t.id)],
);

export const orderLines = ordersSchema.table(
  "order_lines",
  {
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id),
    sku: text("sku").notNull(),
    quantity: integer("quantity").notNull(),
    unitPrice: bigint("unit_price", { mode: "bigint" }).notNull(),
  },
  (t) => [
    primaryKey({ name: "order_lines_pk", columns: [t.orderId, t.sku] }),
    check("order_lines_quantity_positive", sql`${t.quantity} > 0`),
  ],
);

export const idempotencyRecords = idempotencyTable(ordersSchema);

/** OrderCreated, OrderConfirmed, OrderCancelled, written with the change they describe. */
export const outbox = outboxTable(ordersSchema);

/** The choreography's events this service applied, and those it could not. */
export const inbox = inboxTable(ordersSchema);
export const deadLetters = deadLetterTable(ordersSchema);

export { type OrderStatus, orderStatuses } from "../domain/statuses.ts";
