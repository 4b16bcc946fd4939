import { assertOwnerOr, type Principal } from "@edgebank/auth";
import type { Database } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { type Currency, formatDecimal } from "@edgebank/money";
import { and, asc, desc, eq, gt, lt } from "drizzle-orm";
import { accounts, operations } from "../db/schema.ts";

type AccountRow = typeof accounts.$inferSelect;

/** An account as the API shows it: amounts as decimal strings of minor units, never floats. */
export function presentAccount(row: AccountRow) {
  return {
    id: row.id,
    ownerId: row.ownerId,
    kind: row.kind,
    name: row.name,
    currency: row.currency,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Balances: posted, pending (open holds), available = posted − pending + credit limit. */
export function presentBalance(row: AccountRow, balances: { posted: bigint; pending: bigint; creditLimit: bigint }) {
  const available = balances.posted - balances.pending + balances.creditLimit;
  const currency = row.currency as Currency;
  return {
    accountId: row.id,
    currency: row.currency,
    posted: balances.posted.toString(),
    pending: balances.pending.toString(),
    available: available.toString(),
    creditLimit: balances.creditLimit.toString(),
    formatted: {
      posted: formatDecimal({ amount: balances.posted, currency }),
      available: formatDecimal({ amount: available, currency }),
    },
  };
}

export async function openAccount(
  db: Database,
  owner: Principal,
  input: { currency: Currency; name?: string | undefined },
) {
  const [row] = await db
    .insert(accounts)
    .values({ id: newId("account"), ownerId: owner.subject, currency: input.currency, name: input.name ?? null })
    .returning();
  if (!row) throw new AppError("internal", "The account was not created.");
  return row;
}

/**
 * One account, if the caller may see it: its owner, or an operator or auditor. Anyone else
 * gets the same 404 as for an account that does not exist, so ids cannot be probed.
 */
export async function getVisibleAccount(db: Database, principal: Principal, id: string): Promise<AccountRow> {
  const [row] = await db.select().from(accounts).where(eq(accounts.id, id));
  if (!row) throw new AppError("not_found", `Account ${id} does not exist.`);
  assertOwnerOr(principal, row.ownerId, ["operator", "auditor"], `Account ${id}`);
  return row;
}

/** The caller's own accounts, oldest first, after `cursor` (ids sort by creation time). */
export async function listOwnAccounts(
  db: Database,
  principal: Principal,
  page: { limit: number; cursor?: string | undefined; ownerId?: string | undefined },
) {
  // Operators and auditors look up a user's accounts; everyone else sees only their own.
  const owner = page.ownerId ?? principal.subject;
  if (owner !== principal.subject && !principal.scopes.has("operator") && !principal.scopes.has("auditor"))
    throw new AppError("forbidden", "Only operators and auditors list another user's accounts.");
  const rows = await db
    .select()
    .from(accounts)
    .where(and(eq(accounts.ownerId, owner), page.cursor ? gt(accounts.id, page.cursor) : undefined))
    .orderBy(asc(accounts.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit);
}

/** The statement of an account: applied operations, newest first, before `cursor`. */
export async function listStatement(
  db: Database,
  accountId: string,
  page: { limit: number; cursor?: string | undefined },
) {
  const rows = await db
    .select()
    .from(operations)
    .where(
      and(
        eq(operations.accountId, accountId),
        eq(operations.status, "applied"),
        page.cursor ? lt(operations.id, page.cursor) : undefined,
      ),
    )
    .orderBy(desc(operations.id))
    .limit(page.limit + 1);
  const { items: lines, nextCursor } = toPage(rows, page.limit);
  const items = lines.map((row) => ({
    id: row.id,
    operationId: row.operationId,
    kind: row.kind,
    amount: row.amount?.toString() ?? null,
    holdId: row.holdId,
    posted: row.postedAfter.toString(),
    pending: row.pendingAfter.toString(),
    available: row.availableAfter.toString(),
    createdAt: row.createdAt.toISOString(),
  }));
  return { items, nextCursor };
}

/**
 * A page from rows fetched with `limit + 1`: the extra row only says there is more, and the
 * last id shown is the cursor of the next page (ids sort by creation time).
 */
function toPage<T extends { id: string }>(rows: T[], limit: number): { items: T[]; nextCursor: string | undefined } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items.at(-1)?.id : undefined };
}
