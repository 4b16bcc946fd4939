import { outboxTable } from "@edgebank/outbox/table";
import { sql } from "drizzle-orm";
import { bigint, check, index, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/** Every table of the accounts service lives in this schema of the accounts database. */
export const accountsSchema = pgSchema("accounts");

/**
 * Accounts and their balances in integer minor units. The database refuses what must never
 * happen whatever the code does: negative holds or limits, an unknown currency format, and a
 * customer account whose available balance (posted − pending + credit limit) is negative.
 * System accounts (external settlement per currency) are the counterpart of deposits and
 * withdrawals and may go negative.
 */
export const accounts = accountsSchema.table(
  "accounts",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id").notNull(),
    kind: text("kind", { enum: ["customer", "system"] })
      .notNull()
      .default("customer"),
    name: text("name"),
    currency: text("currency").notNull(),
    status: text("status", { enum: ["active", "frozen", "closed"] })
      .notNull()
      .default("active"),
    postedBalance: bigint("posted_balance", { mode: "bigint" }).notNull().default(sql`0`),
    pendingBalance: bigint("pending_balance", { mode: "bigint" }).notNull().default(sql`0`),
    creditLimit: bigint("credit_limit", { mode: "bigint" }).notNull().default(sql`0`),
    version: bigint("version", { mode: "bigint" }).notNull().default(sql`0`),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("accounts_owner_idx").on(t.ownerId, t.id),
    check("accounts_kind_known", sql`${t.kind} in ('customer', 'system')`),
    check("accounts_status_known", sql`${t.status} in ('active', 'frozen', 'closed')`),
    check("accounts_currency_iso", sql`${t.currency} ~ '^[A-Z]{3}$'`),
    check("accounts_pending_non_negative", sql`${t.pendingBalance} >= 0`),
    check("accounts_credit_limit_non_negative", sql`${t.creditLimit} >= 0`),
    check(
      "accounts_available_non_negative",
      sql`${t.kind} = 'system' or ${t.postedBalance} - ${t.pendingBalance} + ${t.creditLimit} >= 0`,
    ),
  ],
);

/**
 * The operation journal: every operation the AccountDO decided, applied or refused, once per
 * (account, operation id), with the balances after it. Refusals are kept so a retried
 * operation id gets its first answer even after an eviction.
 */
export const operations = accountsSchema.table(
  "operations",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    operationId: text("operation_id").notNull(),
    kind: text("kind", {
      enum: ["credit", "debit", "hold", "capture", "release", "set_status", "set_credit_limit"],
    }).notNull(),
    /** The amount asked for (null: release, or capture of the whole hold). */
    amount: bigint("amount", { mode: "bigint" }),
    holdId: text("hold_id"),
    /** What an operator action set (status, credit limit). */
    details: jsonb("details").$type<Record<string, unknown>>(),
    /** Who asked for an operator action. */
    actor: text("actor"),
    fingerprint: text("fingerprint").notNull(),
    status: text("status", { enum: ["applied", "refused"] }).notNull(),
    reason: text("reason"),
    postedAfter: bigint("posted_after", { mode: "bigint" }).notNull(),
    pendingAfter: bigint("pending_after", { mode: "bigint" }).notNull(),
    availableAfter: bigint("available_after", { mode: "bigint" }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("operations_account_operation_key").on(t.accountId, t.operationId),
    index("operations_statement_idx").on(t.accountId, t.id),
    check(
      "operations_kind_known",
      sql`${t.kind} in ('credit', 'debit', 'hold', 'capture', 'release', 'set_status', 'set_credit_limit')`,
    ),
    // Every operator action names its operator.
    check(
      "operations_operator_action_has_actor",
      sql`${t.kind} not in ('set_status', 'set_credit_limit') or ${t.actor} is not null`,
    ),
    check("operations_status_known", sql`${t.status} in ('applied', 'refused')`),
    check("operations_amount_positive", sql`${t.amount} is null or ${t.amount} > 0`),
    check("operations_refusal_has_reason", sql`(${t.status} = 'refused') = (${t.reason} is not null)`),
  ],
);

/** Open holds only; a captured, released or expired hold is deleted (its history is in the journal). */
export const holds = accountsSchema.table(
  "holds",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    holdId: text("hold_id").notNull(),
    amount: bigint("amount", { mode: "bigint" }).notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.holdId] }), check("holds_amount_positive", sql`${t.amount} > 0`)],
);

/** Events for others, written in the same transaction as the change they describe. */
export const outbox = outboxTable(accountsSchema);
