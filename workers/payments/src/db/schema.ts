import { deadLetterTable, inboxTable } from "@edgebank/consumer/table";
import { outboxTable } from "@edgebank/outbox/table";
import { idempotencyTable } from "@edgebank/service/idempotency-table";
import { sql } from "drizzle-orm";
import { bigint, check, index, pgSchema, text, timestamp, unique } from "drizzle-orm/pg-core";
import { paymentStatuses, refundStatuses } from "../domain/statuses.ts";

/** Every table of the payments service lives in this schema of the payments database. */
export const paymentsSchema = pgSchema("payments");

/** A merchant: a business a user runs, with the account that receives its payments. */
export const merchants = paymentsSchema.table(
  "merchants",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id").notNull(),
    name: text("name").notNull(),
    accountId: text("account_id").notNull(),
    currency: text("currency").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index("merchants_owner_idx").on(t.ownerId), unique("merchants_account_uq").on(t.accountId)],
);

/**
 * PENDING (running) → COMPLETED or FAILED. An order's payment stops after its authorization,
 * AUTHORIZED, until its stock is reserved (then it runs on: capture, credit, record) or the
 * order ends (VOIDED: the hold released, nothing moved). NEEDS_ATTENTION: its flow stopped for
 * an operator (the ledger refused its entry, a service stayed down for 15 minutes).
 */

/**
 * Where a payment's last settlement left its row: `authorize` (new), `capture` (an order's,
 * authorized), `done` (ended). The steps themselves run in the payment's flow object
 * (PaymentFlowDO, durable-objects/payment), which holds each step's intent and outcome.
 */
export const paymentSteps = ["authorize", "capture", "credit", "record", "release", "done"] as const;
export type PaymentStep = (typeof paymentSteps)[number];

export const payments = paymentsSchema.table(
  "payments",
  {
    id: text("id").primaryKey(),
    payerId: text("payer_id").notNull(),
    payerAccountId: text("payer_account_id").notNull(),
    merchantId: text("merchant_id")
      .notNull()
      .references(() => merchants.id),
    merchantOwnerId: text("merchant_owner_id").notNull(),
    merchantAccountId: text("merchant_account_id").notNull(),
    amount: bigint("amount", { mode: "bigint" }).notNull(),
    currency: text("currency").notNull(),
    reference: text("reference").notNull(),
    /** The order it pays (one payment per order), for an order's payment. */
    orderId: text("order_id").unique(),
    status: text("status", { enum: paymentStatuses }).notNull().default("PENDING"),
    step: text("step", { enum: paymentSteps }).notNull().default("authorize"),
    failureReason: text("failure_reason"),
    refundedAmount: bigint("refunded_amount", { mode: "bigint" }).notNull().default(sql`0`),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    completedAt: timestamp("completed_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    check("payments_amount_positive", sql`${t.amount} > 0`),
    // Never more refunded than captured (the row lock makes concurrent refunds queue).
    check("payments_refunds_within_amount", sql`${t.refundedAmount} >= 0 and ${t.refundedAmount} <= ${t.amount}`),
    index("payments_payer_idx").on(t.payerId, t.id),
    index("payments_merchant_idx").on(t.merchantId, t.id),
    index("payments_pending_idx").on(t.updatedAt).where(sql`${t.status} = 'PENDING'`),
  ],
);

/** Where a refund's last settlement left its row: `debit` (new) or `done`; its flow object (RefundFlowDO) runs the steps. */
export const refundSteps = ["debit", "credit", "record", "done"] as const;
export type RefundStep = (typeof refundSteps)[number];

/**
 * Refunds of a payment: reserved against the payment's refundable amount when created (in the
 * payment row's lock), then debit (the merchant) → credit (the payer) → record (ledger). A
 * refused debit releases the reservation (FAILED).
 */
export const refunds = paymentsSchema.table(
  "refunds",
  {
    id: text("id").primaryKey(),
    paymentId: text("payment_id")
      .notNull()
      .references(() => payments.id),
    amount: bigint("amount", { mode: "bigint" }).notNull(),
    reason: text("reason").notNull(),
    requestedBy: text("requested_by").notNull(),
    status: text("status", { enum: refundStatuses }).notNull().default("PENDING"),
    step: text("step", { enum: refundSteps }).notNull().default("debit"),
    failureReason: text("failure_reason"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    completedAt: timestamp("completed_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    check("refunds_amount_positive", sql`${t.amount} > 0`),
    index("refunds_payment_idx").on(t.paymentId, t.id),
    index("refunds_pending_idx").on(t.updatedAt).where(sql`${t.status} = 'PENDING'`),
  ],
);

/**
 * Operator actions on payments and refunds that needed attention (retry, compensate, or a
 * refund's retry: `refund_id` set), with who did them.
 */
export const paymentActions = paymentsSchema.table("payment_actions", {
  id: text("id").primaryKey(),
  paymentId: text("payment_id")
    .notNull()
    .references(() => payments.id),
  refundId: text("refund_id").references(() => refunds.id),
  actor: text("actor").notNull(),
  action: text("action").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

/** Idempotency-Key records of payments and refunds (the resource is either). */
export const idempotencyRecords = idempotencyTable(paymentsSchema);

/** Events for others (PaymentCreated, PaymentCompleted, PaymentFailed, PaymentRefunded). */
export const outbox = outboxTable(paymentsSchema);

/** The order events this service applied (authorize, capture, void, refund), and those it could not. */
export const inbox = inboxTable(paymentsSchema);
export const deadLetters = deadLetterTable(paymentsSchema);

export { type PaymentStatus, paymentStatuses, type RefundStatus, refundStatuses } from "../domain/statuses.ts";
