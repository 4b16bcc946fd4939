import { sql } from "drizzle-orm";
import { bigint, check, index, integer, jsonb, pgSchema, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** Every table of the ledger service lives in this schema of the ledger database. */
export const ledgerSchema = pgSchema("ledger");

/**
 * The journal: one entry per completed money movement (unique transfer id, so recording is
 * idempotent), in one total order (`sequence`, gapless). Each entry carries the hash of the
 * previous entry and its own hash over that and its canonical content, so changing or
 * removing any entry breaks every hash after it. Entries and postings are append-only: the
 * database refuses UPDATE, DELETE and TRUNCATE (triggers, migration 0002), and a deferred
 * constraint trigger refuses, at COMMIT, an entry whose postings do not sum to zero per currency.
 */
export const entries = ledgerSchema.table(
  "entries",
  {
    sequence: bigint("sequence", { mode: "bigint" }).primaryKey(),
    id: text("id").notNull().unique(),
    transferId: text("transfer_id").notNull().unique(),
    description: text("description").notNull(),
    recordedAt: timestamp("recorded_at", { withTimezone: true, precision: 3 }).notNull(),
    previousHash: text("previous_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [
    check("entries_sequence_positive", sql`${t.sequence} > 0`),
    check("entries_hashes_hex", sql`${t.previousHash} ~ '^[0-9a-f]{64}$' and ${t.hash} ~ '^[0-9a-f]{64}$'`),
  ],
);

/** The legs of an entry: a signed amount in minor units on one account (debit < 0 < credit). */
export const postings = ledgerSchema.table(
  "postings",
  {
    entrySequence: bigint("entry_sequence", { mode: "bigint" })
      .notNull()
      .references(() => entries.sequence),
    leg: bigint("leg", { mode: "number" }).notNull(),
    accountId: text("account_id").notNull(),
    amount: bigint("amount", { mode: "bigint" }).notNull(),
    currency: text("currency").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.entrySequence, t.leg] }),
    index("postings_account_idx").on(t.accountId, t.entrySequence),
    check("postings_amount_non_zero", sql`${t.amount} <> 0`),
    check("postings_currency_iso", sql`${t.currency} ~ '^[A-Z]{3}$'`),
  ],
);

/**
 * Signed checkpoints: every N entries and on a schedule, the chain head (sequence and hash)
 * signed with a key only the ledger worker holds (a Workers secret). Someone who can write to
 * the database can recompute hashes, but cannot sign a forged head.
 */
export const checkpoints = ledgerSchema.table(
  "checkpoints",
  {
    sequence: bigint("sequence", { mode: "bigint" }).primaryKey(),
    hash: text("hash").notNull(),
    keyId: text("key_id").notNull(),
    signature: text("signature").notNull(),
    signedAt: timestamp("signed_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check("checkpoints_hash_hex", sql`${t.hash} ~ '^[0-9a-f]{64}$'`)],
);

/**
 * Reconciliation runs (cron or on an auditor's request): how many accounts were compared and
 * every account whose ledger balance did not equal its posted balance in the accounts service,
 * with both figures. Kept for the audit trail; never part of the chain.
 */
export const reconciliations = ledgerSchema.table(
  "reconciliations",
  {
    id: text("id").primaryKey(),
    trigger: text("trigger", { enum: ["cron", "auditor"] }).notNull(),
    /** The auditor who asked; null for the cron. */
    actor: text("actor"),
    startedAt: timestamp("started_at", { withTimezone: true, precision: 3 }).notNull(),
    finishedAt: timestamp("finished_at", { withTimezone: true, precision: 3 }).notNull(),
    accountsChecked: integer("accounts_checked").notNull(),
    mismatchCount: integer("mismatch_count").notNull(),
    mismatches: jsonb("mismatches").$type<ReconciliationMismatch[]>().notNull(),
  },
  (t) => [
    index("reconciliations_started_idx").on(t.startedAt),
    check("reconciliations_trigger_known", sql`${t.trigger} in ('cron', 'auditor')`),
    check("reconciliations_counts_consistent", sql`${t.mismatchCount} = jsonb_array_length(${t.mismatches})`),
  ],
);

/** One account whose two balances differ: `difference` = accounts − ledger. */
export interface ReconciliationMismatch {
  accountId: string;
  currency: string;
  /** Null when the accounts service does not know the account at all. */
  accounts: string | null;
  ledger: string;
  difference: string;
}
