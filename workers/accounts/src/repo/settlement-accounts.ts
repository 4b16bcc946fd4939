import type { Database } from "@edgebank/db";
import { and, asc, eq } from "drizzle-orm";
import { accounts } from "../db/schema.ts";

/** The bank's settlement account of a currency (the first system account holding it), if any. */
export async function findSettlementAccount(db: Database, currency: string): Promise<string | undefined> {
  const [row] = await db
    .select({ id: accounts.id })
    .from(accounts)
    .where(and(eq(accounts.kind, "system"), eq(accounts.currency, currency)))
    .orderBy(asc(accounts.id))
    .limit(1);
  return row?.id;
}
