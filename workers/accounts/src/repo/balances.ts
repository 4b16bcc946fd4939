import type { Database } from "@edgebank/db";
import { asc, gt, inArray } from "drizzle-orm";
import { accounts } from "../db/schema.ts";

export interface PostedBalance {
  id: string;
  currency: string;
  posted: string;
}

/**
 * Posted balances in account id order: of the named accounts, or a page of at most `limit`
 * after `after`. The accounts database is what every AccountDO commits to before it answers.
 */
export async function postedBalances(
  db: Database,
  query: { after?: string | undefined; ids?: string[] | undefined; limit: number },
): Promise<PostedBalance[]> {
  const rows = await db
    .select({ id: accounts.id, currency: accounts.currency, posted: accounts.postedBalance })
    .from(accounts)
    .where(query.ids ? inArray(accounts.id, query.ids) : query.after ? gt(accounts.id, query.after) : undefined)
    .orderBy(asc(accounts.id))
    .limit(query.ids ? query.ids.length : query.limit);
  return rows.map((row) => ({ id: row.id, currency: row.currency, posted: row.posted.toString() }));
}
