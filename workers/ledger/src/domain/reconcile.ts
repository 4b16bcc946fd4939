import { type Database, resultRows } from "@edgebank/db";
import { newId } from "@edgebank/ids";
import { type SQL, sql } from "drizzle-orm";
import { type ReconciliationMismatch, reconciliations } from "../db/schema.ts";

/**
 * Reconciliation: every account's balance in the ledger (the sum of its postings) must equal
 * its posted balance in the accounts service. The two are written by different services at
 * different moments (a transfer credits and captures first, then records the entry), so an
 * account with a transfer in flight differs for a moment. A difference is therefore checked
 * again after a pause, a few times; only one that persists through every check is reported.
 * A transfer stuck between its capture and its ledger entry (NEEDS_ATTENTION) is reported, as it
 * should be: that money has moved but is not in the books yet.
 * Both sides page by account id in their database's collation: account ids are `acc_` and
 * lowercase base32, which every collation orders the same way as bytes.
 */

export interface AccountBalance {
  id: string;
  currency: string;
  posted: bigint;
}

/** The accounts service's side, read page by page in account id order. */
export interface BalanceSource {
  /** Accounts after `after` (all from the first when undefined); `next` is null on the last page. */
  page(after: string | undefined, limit: number): Promise<{ items: AccountBalance[]; next: string | null }>;
  /** The named accounts (those it knows). */
  named(ids: string[]): Promise<AccountBalance[]>;
}

export interface ReconcileOptions {
  pageSize?: number;
  /** Pauses before each re-check of the accounts that differ (ms). */
  settleDelays?: readonly number[];
  /** How to pause (tests record entries meanwhile). */
  wait?: (ms: number) => Promise<void>;
}

export interface ReconciliationReport {
  id: string;
  startedAt: Date;
  finishedAt: Date;
  accountsChecked: number;
  mismatches: ReconciliationMismatch[];
}

/** The cron's pauses: a saga retries a failed step for longer than a request would wait. */
const DEFAULT_SETTLE_DELAYS = [2_000, 10_000, 30_000] as const;
/** An auditor's run waits for its answer behind the gateway's 10 s proxy timeout. */
export const ON_DEMAND_SETTLE_DELAYS = [500, 1_500, 3_000] as const;
const RECHECK_BATCH = 100;

/** Ledger balances keyed by `account currency`. */
type Balances = Map<string, bigint>;
const keyOf = (accountId: string, currency: string) => `${accountId} ${currency}`;

async function ledgerBalances(db: Database, where: SQL): Promise<Balances> {
  const rows = resultRows<{ account_id: string; currency: string; balance: string }>(
    await db.execute(sql`
      select account_id, currency, sum(amount)::text as balance
        from ledger.postings where ${where} group by account_id, currency`),
  );
  return new Map(rows.map((row) => [keyOf(row.account_id, row.currency), BigInt(row.balance)]));
}

/** Every (account, currency) whose two sides differ, among the accounts and ledger balances given. */
function compare(accounts: AccountBalance[], ledger: Balances): ReconciliationMismatch[] {
  const mismatches: ReconciliationMismatch[] = [];
  const known = new Set<string>();
  for (const account of accounts) {
    const key = keyOf(account.id, account.currency);
    known.add(key);
    const booked = ledger.get(key) ?? 0n;
    if (booked !== account.posted)
      mismatches.push({
        accountId: account.id,
        currency: account.currency,
        accounts: account.posted.toString(),
        ledger: booked.toString(),
        difference: (account.posted - booked).toString(),
      });
  }
  // Postings on an account the accounts service does not know, or in a currency it does not hold.
  for (const [key, booked] of ledger) {
    if (known.has(key) || booked === 0n) continue;
    const [accountId = "", currency = ""] = key.split(" ");
    const account = accounts.find((candidate) => candidate.id === accountId);
    mismatches.push({
      accountId,
      currency,
      accounts: account ? "0" : null,
      ledger: booked.toString(),
      difference: (-booked).toString(),
    });
  }
  return mismatches;
}

/**
 * Compares every account, then re-checks those that differ after each settle delay; reports
 * what still differs at the end (with the figures of the last check). Reads only.
 */
export async function reconcile(
  db: Database,
  source: BalanceSource,
  options: ReconcileOptions = {},
): Promise<ReconciliationReport> {
  const startedAt = new Date();
  const pageSize = options.pageSize ?? 500;
  const wait = options.wait ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  let accountsChecked = 0;
  let candidates: ReconciliationMismatch[] = [];
  let after: string | undefined;
  for (;;) {
    const { items, next } = await source.page(after, pageSize);
    accountsChecked += items.length;
    const last = next ?? undefined;
    // The ledger's accounts in the same id range: (after, last], or everything after on the last page.
    const range = sql.join(
      [
        after === undefined ? sql`true` : sql`account_id > ${after}`,
        last === undefined ? sql`true` : sql`account_id <= ${last}`,
      ],
      sql` and `,
    );
    candidates.push(...compare(items, await ledgerBalances(db, range)));
    if (!next) break;
    after = next;
  }

  for (const delay of options.settleDelays ?? DEFAULT_SETTLE_DELAYS) {
    if (candidates.length === 0) break;
    await wait(delay);
    const still: ReconciliationMismatch[] = [];
    for (let start = 0; start < candidates.length; start += RECHECK_BATCH) {
      const batch = candidates.slice(start, start + RECHECK_BATCH);
      const ids = [...new Set(batch.map((mismatch) => mismatch.accountId))];
      // Only what was asked for: an account answered twice must not be compared twice.
      const accounts = (await source.named(ids)).filter((account) => ids.includes(account.id));
      const ledger = await ledgerBalances(
        db,
        sql`account_id in (${sql.join(
          ids.map((id) => sql`${id}`),
          sql`, `,
        )})`,
      );
      still.push(...compare(accounts, ledger));
    }
    // Only what differed before and differs again stays a candidate (once).
    const before = new Set(candidates.map((mismatch) => keyOf(mismatch.accountId, mismatch.currency)));
    const kept = new Map<string, ReconciliationMismatch>();
    for (const mismatch of still) {
      const key = keyOf(mismatch.accountId, mismatch.currency);
      if (before.has(key)) kept.set(key, mismatch);
    }
    candidates = [...kept.values()];
  }

  return {
    id: newId("reconciliation"),
    startedAt,
    finishedAt: new Date(),
    accountsChecked,
    mismatches: candidates.sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0)),
  };
}

/** Keeps a run's report, for auditors to read back. */
export async function saveReconciliation(
  db: Database,
  report: ReconciliationReport,
  trigger: "cron" | "auditor",
  actor: string | null,
): Promise<void> {
  await db.insert(reconciliations).values({
    id: report.id,
    trigger,
    actor,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    accountsChecked: report.accountsChecked,
    mismatchCount: report.mismatches.length,
    mismatches: report.mismatches,
  });
}
