import { sql } from "drizzle-orm";
import { bigint, check, index, pgSchema, text, timestamp } from "drizzle-orm/pg-core";

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
