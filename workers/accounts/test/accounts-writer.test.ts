import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { withDatabase } from "@edgebank/db";
import type { AccountState, CommitBatch } from "@edgebank/durable-objects/account";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { AccountsWriterDO } from "../src/accounts-writer-do.ts";
import { customer, openAccount } from "./helpers.ts";

const settings = () => ({
  driver: "hyperdrive" as const,
  connectionString: env.ACCOUNTS_DB.connectionString,
  prepare: env.DB_PREPARE === "true",
});

async function rows<T>(statement: ReturnType<typeof sql>): Promise<T[]> {
  return withDatabase(settings(), async (db) => (await db.execute(statement)) as unknown as T[]);
}

/** Fresh accounts of one customer. */
async function freshAccounts(count: number): Promise<string[]> {
  const { token } = await customer();
  const opened = [];
  for (let n = 0; n < count; n++) opened.push((await openAccount(token)).id);
  return opened;
}

/** A batch crediting `amount` to the account as `before` holds it, under `operationId`. */
function credit(before: AccountState, operationId: string, amount: bigint): CommitBatch {
  const posted = before.posted + amount;
  const balances = {
    posted: posted.toString(),
    pending: before.pending.toString(),
    available: (posted - before.pending + before.creditLimit).toString(),
  };
  return {
    before,
    after: { ...before, posted, version: before.version + 1n },
    decided: [
      {
        operation: { kind: "credit", operationId, amount },
        fingerprint: `credit:${amount}`,
        result: { operationId, status: "applied", ...balances },
      },
    ],
  };
}

/** The writer instance itself: calls made in one turn queue together, as concurrent RPCs would. */
function inWriter<T>(run: (writer: AccountsWriterDO) => Promise<T>): Promise<T> {
  const stub = env.ACCOUNTS_WRITER.get(env.ACCOUNTS_WRITER.idFromName(`test:${crypto.randomUUID()}`));
  return runInDurableObject(stub, run);
}

/** Each account's posted balance and the transaction that last wrote its row. */
async function stored(ids: string[]) {
  const found = await rows<{ id: string; posted_balance: string; xid: string }>(
    sql`select id, posted_balance::text, xmin::text as xid from accounts.accounts
        where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`,
  );
  return new Map(found.map((row) => [row.id, { posted: row.posted_balance, xid: row.xid }]));
}

describe("AccountsWriterDO: the group commit of the accounts database", () => {
  it("reads many accounts back at once and commits what queued meanwhile as one transaction, each its own answer", async () => {
    const ids = await freshAccounts(4);
    const outcomes = await inWriter(async (writer) => {
      const states = await Promise.all([...ids, "acc_does_not_exist"].map((id) => writer.load(id)));
      expect(states.at(-1)).toBeUndefined();
      // The first commit goes alone; the three that queued while it was in flight go together.
      return Promise.all(
        states.slice(0, 4).map((state, n) => writer.commit(credit(state as AccountState, `w-${n}`, 10n))),
      );
    });
    expect(outcomes).toEqual(["committed", "committed", "committed", "committed"]);
    const after = await stored(ids);
    expect(ids.map((id) => after.get(id)?.posted)).toEqual(["10", "10", "10", "10"]);
    const transactions = new Set(ids.slice(1).map((id) => after.get(id)?.xid));
    expect(transactions.size).toBe(1);
    expect(transactions.has(after.get(ids[0] ?? "")?.xid)).toBe(false);
    const [journal] = await rows<{ n: string }>(
      sql`select count(*) as n from accounts.operations
          where account_id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`,
    );
    expect(Number(journal?.n)).toBe(4);
  });

  it("a batch refused in a group fails alone: a stale version writes nothing, a journaled id is answered as recorded", async () => {
    const [first, stale, recorded, valid] = await freshAccounts(4);
    if (!first || !stale || !recorded || !valid) throw new Error("four accounts expected");
    // `recorded` has an operation journaled already, through its own AccountDO.
    const object = env.ACCOUNT.get(env.ACCOUNT.idFromName(recorded));
    await object.credit({ accountId: recorded, operationId: "dup", amount: 5n });
    const outcomes = await inWriter(async (writer) => {
      const [a, b, c, d] = await Promise.all([first, stale, recorded, valid].map((id) => writer.load(id)));
      if (!a || !b || !c || !d) throw new Error("the accounts were not loaded");
      return Promise.all([
        writer.commit(credit(a, "alone", 1n)),
        writer.commit(credit({ ...b, version: b.version + 7n }, "stale", 1n)),
        writer.commit(credit(c, "dup", 1n)),
        writer.commit(credit(d, "valid", 3n)),
      ]);
    });
    expect(outcomes).toEqual(["committed", "stale", "recorded", "committed"]);
    const after = await stored([first, stale, recorded, valid]);
    expect([first, stale, recorded, valid].map((id) => after.get(id)?.posted)).toEqual(["1", "0", "5", "3"]);
    const [journal] = await rows<{ dup: string; stale: string }>(
      sql`select count(*) filter (where account_id = ${recorded}) as dup,
                 count(*) filter (where account_id = ${stale}) as stale
          from accounts.operations where account_id in (${recorded}, ${stale})`,
    );
    expect(journal).toEqual({ dup: "1", stale: "0" });
  });
});
