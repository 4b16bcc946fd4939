import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { withDatabase } from "@edgebank/db";
import type { AccountStore } from "@edgebank/durable-objects/account";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { AccountDO } from "../src/account-do.ts";
import { call, customer, openAccount } from "./helpers.ts";

const settings = () => ({
  driver: "hyperdrive" as const,
  connectionString: env.ACCOUNTS_DB.connectionString,
  prepare: env.DB_PREPARE === "true",
});

async function rows<T>(statement: ReturnType<typeof sql>): Promise<T[]> {
  return withDatabase(settings(), async (db) => (await db.execute(statement)) as unknown as T[]);
}

/** The object's balances as the API shows them (decimal strings, available derived). */
async function balanceOf(stub: DurableObjectStub<AccountDO>, id: string) {
  const { posted, pending, creditLimit } = await stub.balance(id);
  return { posted: String(posted), pending: String(pending), available: String(posted - pending + creditLimit) };
}

/** A fresh account with `amount` credited, and the stub of its AccountDO. */
async function funded(amount: bigint) {
  const { token } = await customer();
  const { id } = await openAccount(token);
  const stub = env.ACCOUNT.get(env.ACCOUNT.idFromName(id));
  if (amount > 0n) await stub.credit({ accountId: id, operationId: "fund", amount });
  return { id, stub };
}

/**
 * The object's next commit fails before writing anything ("before") or after committing, as if
 * the answer were lost on the way back ("after"): injected into the live object by the test,
 * by wrapping its store once (the class has no fault hook).
 */
function failNextCommit(stub: DurableObjectStub<AccountDO>, when: "before" | "after") {
  return runInDurableObject(stub, (instance) => {
    const store = (instance as unknown as { store?: AccountStore }).store;
    if (!store) throw new Error("the object has no store yet: operate on it first");
    const commit = store.commit.bind(store);
    store.commit = async (batch) => {
      store.commit = commit;
      if (when === "before") throw new Error("injected fault: database unreachable before the commit");
      await commit(batch);
      throw new Error("injected fault: connection lost after the commit");
    };
  });
}

describe("AccountDO against PostgreSQL", () => {
  it("200 concurrent debits of 1 on an account holding 100: exactly 100 succeed, balance 0, 100 journal rows", async () => {
    const { id, stub } = await funded(100n);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => stub.debit({ accountId: id, operationId: `d-${i}`, amount: 1n })),
    );
    expect(results.filter((r) => r.status === "applied")).toHaveLength(100);
    expect(results.filter((r) => r.reason === "insufficient_funds")).toHaveLength(100);
    const [account] = await rows<{ posted_balance: string }>(
      sql`select posted_balance from accounts.accounts where id = ${id}`,
    );
    expect(BigInt(account?.posted_balance ?? -1)).toBe(0n);
    const [journal] = await rows<{ applied: string; refused: string }>(
      sql`select count(*) filter (where status = 'applied' and kind = 'debit') as applied,
                 count(*) filter (where status = 'refused') as refused
          from accounts.operations where account_id = ${id}`,
    );
    expect(Number(journal?.applied)).toBe(100);
    expect(Number(journal?.refused)).toBe(100);
    const [events] = await rows<{ n: string }>(
      sql`select count(*) as n from accounts.outbox where aggregate_id = ${id}`,
    );
    expect(Number(events?.n)).toBe(101); // the funding credit and 100 debits
  });

  it("the same operation id sent 50 times concurrently is applied once; all see the same result", async () => {
    const { id, stub } = await funded(100n);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => stub.debit({ accountId: id, operationId: "once", amount: 30n })),
    );
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(results[0]).toMatchObject({ status: "applied", posted: "70" });
    const [journal] = await rows<{ n: string }>(
      sql`select count(*) as n from accounts.operations where account_id = ${id} and operation_id = 'once'`,
    );
    expect(Number(journal?.n)).toBe(1);
  });

  it("places, partly captures and releases holds, keeping posted and available apart", async () => {
    const { id, stub } = await funded(100n);
    const expiresAt = Date.now() + 3_600_000;
    expect(
      await stub.hold({ accountId: id, operationId: "h1", holdId: "hold-1", amount: 30n, expiresAt }),
    ).toMatchObject({
      posted: "100",
      pending: "30",
      available: "70",
    });
    expect(await balanceOf(stub, id)).toEqual({ posted: "100", pending: "30", available: "70" });
    expect(await stub.capture({ accountId: id, operationId: "c1", holdId: "hold-1", amount: 20n })).toMatchObject({
      posted: "80",
      pending: "0",
      available: "80",
    });
    await stub.hold({ accountId: id, operationId: "h2", holdId: "hold-2", amount: 50n, expiresAt });
    expect(await stub.release({ accountId: id, operationId: "r2", holdId: "hold-2" })).toMatchObject({
      pending: "0",
      available: "80",
    });
    expect(await rows(sql`select * from accounts.holds where account_id = ${id}`)).toEqual([]);
  });

  it("sets its alarm for the earliest hold only: a later hold leaves it, an earlier one moves it", async () => {
    const { id, stub } = await funded(100n);
    const alarm = () => runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    const hour = Date.now() + 3_600_000;
    await stub.hold({ accountId: id, operationId: "h1", holdId: "hour", amount: 10n, expiresAt: hour });
    expect(await alarm()).toBe(hour);
    await stub.hold({ accountId: id, operationId: "h2", holdId: "day", amount: 10n, expiresAt: hour + 86_400_000 });
    expect(await alarm()).toBe(hour);
    await stub.hold({ accountId: id, operationId: "h3", holdId: "minute", amount: 10n, expiresAt: hour - 3_540_000 });
    expect(await alarm()).toBe(hour - 3_540_000);
    expect(await runInDurableObject(stub, (_, state) => state.storage.get("accountId"))).toBe(id);
  });

  it("releases an expired hold when its alarm fires", async () => {
    const { id, stub } = await funded(100n);
    await stub.hold({ accountId: id, operationId: "h", holdId: "short", amount: 40n, expiresAt: Date.now() + 50 });
    expect((await balanceOf(stub, id)).available).toBe("60");
    // The object's own alarm fires at the expiry; wait for it, bounded.
    let balance = await balanceOf(stub, id);
    for (let i = 0; i < 60 && balance.available !== "100"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      balance = await balanceOf(stub, id);
    }
    expect(balance).toEqual({ posted: "100", pending: "0", available: "100" });
    expect(await runDurableObjectAlarm(stub)).toBe(false); // nothing left to expire: no alarm pending
    const [expiry] = await rows<{ status: string }>(
      sql`select status from accounts.operations where account_id = ${id} and operation_id = 'expire:short'`,
    );
    expect(expiry?.status).toBe("applied");
  });

  it("after a crash, reloads from the database and still answers a known operation id once", async () => {
    const { id, stub } = await funded(100n);
    const first = await stub.debit({ accountId: id, operationId: "before-eviction", amount: 10n });
    // Kill the object as a crash would (eviction proper waits for its open socket to drain).
    await abortAllDurableObjects();
    const fresh = env.ACCOUNT.get(env.ACCOUNT.idFromName(id));
    expect(await fresh.debit({ accountId: id, operationId: "before-eviction", amount: 10n })).toEqual(first);
    expect(await balanceOf(fresh, id)).toMatchObject({ posted: "90" });
  });

  it("after a crash, reloads its open holds with the account (amounts and expiry), in one statement", async () => {
    const { id, stub } = await funded(100n);
    const expiresAt = Date.now() + 3_600_000;
    await stub.hold({ accountId: id, operationId: "reload-h1", holdId: "kept-1", amount: 30n, expiresAt });
    await stub.hold({ accountId: id, operationId: "reload-h2", holdId: "kept-2", amount: 25n, expiresAt });
    await abortAllDurableObjects();
    const fresh = env.ACCOUNT.get(env.ACCOUNT.idFromName(id));
    expect(await balanceOf(fresh, id)).toEqual({ posted: "100", pending: "55", available: "45" });
    expect(await fresh.capture({ accountId: id, operationId: "reload-c1", holdId: "kept-1" })).toMatchObject({
      status: "applied",
      posted: "70",
      pending: "25",
    });
    expect(
      await fresh.hold({ accountId: id, operationId: "reload-h3", holdId: "kept-2", amount: 1n, expiresAt }),
    ).toMatchObject({
      status: "refused",
      reason: "hold_exists",
    });
  });

  it("after a crash, a batch mixing journaled ids with new ones applies each new one once", async () => {
    const { id, stub } = await funded(100n);
    const earlier = await Promise.all(
      ["a", "b"].map((key) => stub.debit({ accountId: id, operationId: `old-${key}`, amount: 10n })),
    );
    await abortAllDurableObjects();
    const fresh = env.ACCOUNT.get(env.ACCOUNT.idFromName(id));
    const results = await Promise.all([
      fresh.debit({ accountId: id, operationId: "old-a", amount: 10n }),
      fresh.debit({ accountId: id, operationId: "new-1", amount: 5n }),
      fresh.debit({ accountId: id, operationId: "old-b", amount: 10n }),
      fresh.debit({ accountId: id, operationId: "new-2", amount: 5n }),
    ]);
    expect([results[0], results[2]]).toEqual(earlier);
    expect(await balanceOf(fresh, id)).toMatchObject({ posted: "70" });
    const journal = await rows<{ operation_id: string }>(
      sql`select operation_id from accounts.operations where account_id = ${id} order by operation_id`,
    );
    expect(journal.map((row) => row.operation_id)).toEqual(["fund", "new-1", "new-2", "old-a", "old-b"]);
    const [account] = await rows<{ posted_balance: string }>(
      sql`select posted_balance from accounts.accounts where id = ${id}`,
    );
    expect(String(account?.posted_balance)).toBe("70");
  });

  it.each(["before", "after"] as const)(
    "with the database failing %s a commit: a retryable error, then object and database agree and the retry applies once",
    async (when) => {
      const { id, stub } = await funded(100n);
      await failNextCommit(stub, when);
      const failed = await stub.debit({ accountId: id, operationId: "flaky", amount: 25n }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(failed?.message).toMatch(/retry it with the same operation id/);
      const retried = await stub.debit({ accountId: id, operationId: "flaky", amount: 25n });
      expect(retried).toMatchObject({ status: "applied", posted: "75" });
      expect(await balanceOf(stub, id)).toMatchObject({ posted: "75" });
      const [account] = await rows<{ posted_balance: string }>(
        sql`select posted_balance from accounts.accounts where id = ${id}`,
      );
      expect(account?.posted_balance).toBe("75");
      const [journal] = await rows<{ n: string }>(
        sql`select count(*) as n from accounts.operations where account_id = ${id} and operation_id = 'flaky'`,
      );
      expect(Number(journal?.n)).toBe(1);
    },
  );

  it("refuses to serve an account it was not created for", async () => {
    const { id } = await funded(0n);
    const other = env.ACCOUNT.get(env.ACCOUNT.idFromName(id));
    const error = await other.debit({ accountId: "acc_01m85av1y6e8091a16m4f2wd3e", operationId: "x", amount: 1n }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/another account/);
  });
});

describe("GET /v1/accounts/{id}/balance", () => {
  it("shows what the AccountDO has committed, including open holds", async () => {
    const { token } = await customer();
    const { id } = await openAccount(token);
    const stub = env.ACCOUNT.get(env.ACCOUNT.idFromName(id));
    await stub.credit({ accountId: id, operationId: "salary", amount: 250_00n });
    await stub.hold({
      accountId: id,
      operationId: "card",
      holdId: "card-1",
      amount: 42_50n,
      expiresAt: Date.now() + 3_600_000,
    });
    const response = await call(`/v1/accounts/${id}/balance`, token);
    expect(await response.json()).toMatchObject({
      posted: "25000",
      pending: "4250",
      available: "20750",
      formatted: { posted: "250.00", available: "207.50" },
    });
  });
});

describe("GET /v1/accounts/{id}/operations", () => {
  it("lists applied operations newest first, a page at a time, to the owner only", async () => {
    const alice = await customer();
    const bob = await customer();
    const { id } = await openAccount(alice.token);
    const stub = env.ACCOUNT.get(env.ACCOUNT.idFromName(id));
    await stub.credit({ accountId: id, operationId: "s-1", amount: 100n });
    await stub.debit({ accountId: id, operationId: "s-2", amount: 30n });
    await stub.debit({ accountId: id, operationId: "s-3", amount: 500n }); // refused: not a statement line
    await stub.debit({ accountId: id, operationId: "s-4", amount: 20n });
    const first = (await (await call(`/v1/accounts/${id}/operations?limit=2`, alice.token)).json()) as {
      items: Array<{ operationId: string; kind: string; amount: string; posted: string }>;
      nextCursor?: string;
    };
    expect(first.items.map((line) => [line.operationId, line.kind, line.amount, line.posted])).toEqual([
      ["s-4", "debit", "20", "50"],
      ["s-2", "debit", "30", "70"],
    ]);
    const second = (await (
      await call(`/v1/accounts/${id}/operations?limit=2&cursor=${first.nextCursor}`, alice.token)
    ).json()) as {
      items: Array<{ operationId: string }>;
      nextCursor?: string;
    };
    expect(second.items.map((line) => line.operationId)).toEqual(["s-1"]);
    expect(second.nextCursor).toBeUndefined();
    expect((await call(`/v1/accounts/${id}/operations`, bob.token)).status).toBe(404);
  });
});

describe("an AccountDO for an account that does not exist", () => {
  it("refuses with not_found, and nothing is written", async () => {
    const missing = "acc_01m85av1y6e8091a16m4f2wd3f";
    const stub = env.ACCOUNT.get(env.ACCOUNT.idFromName(missing));
    const error = await stub.credit({ accountId: missing, operationId: "ghost", amount: 5n }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe("Account acc_01m85av1y6e8091a16m4f2wd3f does not exist.");
    const [journal] = await rows<{ n: string }>(
      sql`select count(*) as n from accounts.operations where account_id = ${missing}`,
    );
    expect(Number(journal?.n)).toBe(0);
  });
});
