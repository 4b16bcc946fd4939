import { type Database, resultRows } from "@edgebank/db";
import { sql } from "drizzle-orm";

/** One line of an account's statement, as PostgreSQL returns it. */
export interface StatementLine {
  sequence: string;
  transfer_id: string;
  description: string;
  recorded_at: string | Date;
  amount: string;
  currency: string;
  balance_after: string;
}

const LAST_SEQUENCE = "9223372036854775807";

/**
 * An account's postings newest first, each with its running balance. The running balance is a
 * window over all of the account's postings up to `asOf`; the page is cut from it afterwards, so
 * every line shows its true balance. One line more than `limit` says there is a next page.
 */
export async function statementLines(
  db: Database,
  accountId: string,
  page: { limit: number; cursor?: string; asOf?: string },
): Promise<StatementLine[]> {
  const upTo = page.asOf ?? LAST_SEQUENCE;
  const cursor = page.cursor ?? null;
  return resultRows<StatementLine>(
    await db.execute(sql`
      select * from (
        select p.entry_sequence::text as sequence, e.transfer_id, e.description, e.recorded_at,
               p.amount::text as amount, p.currency,
               (sum(p.amount) over (partition by p.currency order by p.entry_sequence, p.leg))::text as balance_after,
               p.entry_sequence as position, p.leg
          from ledger.postings p join ledger.entries e on e.sequence = p.entry_sequence
         where p.account_id = ${accountId} and p.entry_sequence <= ${upTo}::bigint
      ) lines
      where ${cursor}::bigint is null or position < ${cursor}::bigint
      order by position desc, leg desc
      limit ${page.limit + 1}`),
  );
}

/** An account's balance per currency up to `asOf` (every posting when absent). */
export async function statementBalances(
  db: Database,
  accountId: string,
  asOf?: string,
): Promise<Record<string, string>> {
  const totals = resultRows<{ currency: string; total: string }>(
    await db.execute(sql`
      select currency, sum(amount)::text as total from ledger.postings
       where account_id = ${accountId} and entry_sequence <= ${asOf ?? LAST_SEQUENCE}::bigint group by currency`),
  );
  return Object.fromEntries(totals.map((row) => [row.currency, row.total]));
}
