import { outboxTable } from "@edgebank/outbox/table";
import { sql } from "drizzle-orm";
import { bigint, check, index, integer, jsonb, pgSchema, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { transferStatuses } from "../domain/statuses.ts";

/** Every table of the transfers service lives in this schema of the transfers database. */
export const transfersSchema = pgSchema("transfers");

/**
 * Transfers: one row per requested movement, its saga's outcome and why it failed. Deposits
 * and withdrawals are transfers from or to the external settlement account of the currency.
 */
export const transfers = transfersSchema.table(
  "transfers",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["transfer", "deposit", "withdrawal"] }).notNull(),
    /** Who asked for it: the customer, or the operator of a deposit or withdrawal. */
    requestedBy: text("requested_by").notNull(),
    fromAccountId: text("from_account_id").notNull(),
    toAccountId: text("to_account_id").notNull(),
    amount: bigint("amount", { mode: "bigint" }).notNull(),
    currency: text("currency").notNull(),
    description: text("description").notNull(),
    status: text("status", { enum: transferStatuses }).notNull().default("PENDING"),
    failureReason: text("failure_reason"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [
    index("transfers_requester_idx").on(t.requestedBy, t.id),
    index("transfers_status_idx").on(t.status, t.id),
    check("transfers_amount_positive", sql`${t.amount} > 0`),
    check("transfers_distinct_accounts", sql`${t.fromAccountId} <> ${t.toAccountId}`),
    check("transfers_currency_iso", sql`${t.currency} ~ '^[A-Z]{3}$'`),
    check("transfers_status_known", sql`${t.status} in ('PENDING', 'COMPLETED', 'FAILED', 'NEEDS_ATTENTION')`),
    check(
      "transfers_failed_has_reason",
      sql`${t.status} not in ('FAILED', 'NEEDS_ATTENTION') or ${t.failureReason} is not null`,
    ),
  ],
);

/**
 * Idempotency records (ARCHITECTURE §6): the source of truth behind the gateway's Redis fast
 * path. One per (caller, key): the request's fingerprint, the transfer it created, and the
 * final response once there is one.
 */
export const idempotencyRecords = transfersSchema.table(
  "idempotency_records",
  {
    principal: text("principal").notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    transferId: text("transfer_id").notNull(),
    responseStatus: integer("response_status"),
    responseBody: jsonb("response_body").$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.principal, t.key] })],
);

/** Operator actions on sagas (retry, compensate), with who did them. */
export const transferActions = transfersSchema.table("transfer_actions", {
  id: text("id").primaryKey(),
  transferId: text("transfer_id")
    .notNull()
    .references(() => transfers.id),
  actor: text("actor").notNull(),
  action: text("action").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Events for others (TransferCompleted, TransferFailed), written with the change they describe. */
export const outbox = outboxTable(transfersSchema);

export { type TransferStatus, transferStatuses } from "../domain/statuses.ts";
