import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import type { LedgerEntry, LedgerService, RecordInput, RecordResult } from "@edgebank/contracts";
import { type Database, resultRows, withDatabase } from "@edgebank/db";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { entryHash } from "../src/domain/chain.ts";
import worker from "../src/index.ts";

const settings = () => ({
  driver: "hyperdrive" as const,
  connectionString: env.LEDGER_DB.connectionString,
  prepare: env.DB_PREPARE === "true",
});

function call(path: string, token: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return exports.default.fetch(new Request(`https://ledger.internal${path}`, { ...init, headers }));
}

const auditor = () => testCaller(env, "accounts:read ledger:read auditor");

/** The ledger's entrypoint as the transfers service binds it (test-only binding). */
const asTransfers = env.RPC_AS_TRANSFERS as unknown as LedgerService;

function record(input: RecordInput): Promise<RecordResult> {
  return asTransfers.record(input);
}

/** The entry an applied record answered with. */
function entryOf(result: RecordResult): LedgerEntry {
  expect(result.status).toBe("applied");
  if (result.status !== "applied") throw new Error(`not recorded: ${result.status}`);
  return result.entry;
}

/** A movement of `amount` from one account to another, as the transfer saga records it. */
function movement(from: string, to: string, amount: number, currency = "EUR") {
  return {
    transferId: `trf_test_${crypto.randomUUID()}`,
    description: `test movement ${from} → ${to}`,
    postings: [
      { accountId: from, amount: String(-amount), currency },
      { accountId: to, amount: String(amount), currency },
    ],
  };
}

const account = () => `acc_test_${crypto.randomUUID().replaceAll("-", "")}`;

async function verify(): Promise<Record<string, unknown>> {
  const response = await call("/v1/ledger/verify", (await auditor()).token);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** Runs statements as someone with direct database access who switches the triggers off. */
function asIntruder<T>(work: (db: Database) => Promise<T>): Promise<T> {
  return withDatabase(settings(), (db) =>
    db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      return work(tx as unknown as Database);
    }),
  );
}

describe("recording entries (LedgerRpc.record)", () => {
  it("records a balanced entry once per transfer id, chained to the one before", async () => {
    const first = await record(movement(account(), account(), 500));
    expect(first).toMatchObject({ status: "applied", replayed: false });
    const a = entryOf(first);
    const body = movement(account(), account(), 250);
    const second = await record(body);
    expect(second).toMatchObject({ status: "applied", replayed: false });
    const b = entryOf(second);
    expect(b.previousHash).toMatch(/^[0-9a-f]{64}$/);
    expect(BigInt(b.sequence)).toBeGreaterThan(BigInt(a.sequence));

    expect(await record(body)).toEqual({ status: "applied", replayed: true, entry: b });

    const other = await record({ ...body, postings: movement("x", "y", 251).postings });
    expect(other.status).toBe("conflict");
  });

  it("the same transfer id sent 20 times at once is one entry", async () => {
    const body = movement(account(), account(), 42);
    const answers = await Promise.all(Array.from({ length: 20 }, () => record(body)));
    expect(answers.filter((r) => r.status === "applied" && !r.replayed)).toHaveLength(1);
    expect(answers.filter((r) => r.status === "applied" && r.replayed)).toHaveLength(19);
    expect(new Set(answers.map((r) => JSON.stringify(entryOf(r)))).size).toBe(1);
    const [row] = await withDatabase(settings(), async (db) =>
      resultRows<{ n: number }>(
        await db.execute(sql`select count(*)::int as n from ledger.entries where transfer_id = ${body.transferId}`),
      ),
    );
    expect(row?.n).toBe(1);
  });

  it("appends that arrive together are committed together, and each gets its own answer: entry, replay or conflict", async () => {
    // The chain's writer commits what queued during its last commit as one batch: a movement,
    // its repeat and its id with other postings may share one, and still answer as if alone.
    const body = movement(account(), account(), 61);
    const conflicting = { ...body, postings: movement("x", "y", 62).postings };
    const others = Array.from({ length: 8 }, (_, i) => movement(account(), account(), 70 + i));
    const answers = await Promise.all([
      ...others.map((other) => record(other)),
      record(body),
      record(body),
      record(conflicting),
    ]);
    const [first, repeat, conflict] = answers.slice(-3);
    expect(answers.slice(0, 8).every((answer) => answer.status === "applied" && !answer.replayed)).toBe(true);
    // One entry for the id, the repeat its replay, the other postings a conflict.
    expect([first, repeat].filter((answer) => answer?.status === "applied")).toHaveLength(2);
    expect(entryOf(repeat as RecordResult)).toEqual(entryOf(first as RecordResult));
    expect(conflict).toMatchObject({ status: "conflict" });
    const [row] = await withDatabase(settings(), async (db) =>
      resultRows<{ n: number }>(
        await db.execute(sql`select count(*)::int as n from ledger.entries where transfer_id = ${body.transferId}`),
      ),
    );
    expect(row?.n).toBe(1);
    expect(await verify()).toMatchObject({ valid: true });
  });

  it("30 different movements recorded at once form one chain, each entry linked to the one before it", async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => record(movement(account(), account(), 10 + i))),
    );
    const recorded = answers.map(entryOf);
    expect(new Set(recorded.map((entry) => entry.sequence)).size).toBe(30);
    const inOrder = [...recorded].sort((a, b) => (BigInt(a.sequence) < BigInt(b.sequence) ? -1 : 1));
    // Where two of them are neighbours in the chain (another file's entry may sit between), the
    // later one names the earlier one's hash.
    for (const [i, entry] of inOrder.entries()) {
      const before = inOrder[i - 1];
      if (before && BigInt(entry.sequence) === BigInt(before.sequence) + 1n) {
        expect(entry.previousHash).toBe(before.hash);
      }
    }
    expect(await verify()).toMatchObject({ valid: true });
  });

  it("refuses unbalanced postings, a single leg, and callers outside the allow-list, recording nothing", async () => {
    const unbalanced = movement(account(), account(), 10);
    unbalanced.postings[1] = { accountId: account(), amount: "11", currency: "EUR" };
    expect(await record(unbalanced)).toMatchObject({ status: "refused", reason: "unbalanced" });

    const mixed = movement(account(), account(), 10);
    mixed.postings[1] = { accountId: account(), amount: "10", currency: "USD" };
    expect(await record(mixed)).toMatchObject({ status: "refused", reason: "unbalanced" });

    const single = movement(account(), account(), 10);
    single.postings = single.postings.slice(0, 1);
    expect(await record(single)).toMatchObject({ status: "invalid", reason: "invalid_input" });

    const strangers = [env.RPC_AS_LEDGER, env.RPC_WITHOUT_CALLER] as unknown as LedgerService[];
    const stolen = movement(account(), account(), 10);
    for (const stranger of strangers) {
      expect(await stranger.record(stolen)).toMatchObject({ status: "forbidden", reason: "caller_not_allowed" });
    }
    // The audit (a rollout's money invariants) is delivery's alone; recording is not delivery's.
    for (const stranger of [env.RPC_AS_TRANSFERS, ...strangers] as unknown as LedgerService[]) {
      expect(await stranger.audit({ requestedBy: "rol_x" })).toMatchObject({
        status: "forbidden",
        reason: "caller_not_allowed",
      });
    }
    const delivery = env.RPC_AS_DELIVERY as unknown as LedgerService;
    expect(await delivery.record(stolen)).toMatchObject({ status: "forbidden", reason: "caller_not_allowed" });
    const ids = [unbalanced, mixed, single, stolen].map((m) => m.transferId);
    const [row] = await withDatabase(settings(), async (db) =>
      resultRows<{ n: number }>(
        await db.execute(
          sql`select count(*)::int as n from ledger.entries where transfer_id = any(string_to_array(${ids.join(",")}, ','))`,
        ),
      ),
    );
    expect(row?.n).toBe(0);
  });
});

describe("the database guards the journal", () => {
  it("refuses, at commit, an entry whose postings do not sum to zero or that has one leg", async () => {
    const attempt = (legs: Array<[string, number]>) =>
      withDatabase(settings(), (db) =>
        db.transaction(async (tx) => {
          const [head] = resultRows<{ next: string }>(
            await tx.execute(sql`select coalesce(max(sequence), 0) + 1000000 as next from ledger.entries`),
          );
          const sequence = head?.next ?? "1000000";
          await tx.execute(sql`insert into ledger.entries (sequence, id, transfer_id, description, recorded_at,
                                 previous_hash, hash)
                               values (${sequence}, ${`led_raw_${sequence}`}, ${`raw-${crypto.randomUUID()}`},
                                 'raw', now(), ${"0".repeat(64)}, ${"1".repeat(64)})`);
          for (const [index, [accountId, amount]] of legs.entries()) {
            await tx.execute(sql`insert into ledger.postings (entry_sequence, leg, account_id, amount, currency)
                                 values (${sequence}, ${index}, ${accountId}, ${amount}, 'EUR')`);
          }
        }),
      ).then(
        () => "committed",
        (error: unknown) => String((error as { cause?: unknown }).cause ?? error),
      );
    expect(
      await attempt([
        ["a", -10],
        ["b", 9],
      ]),
    ).toMatch(/does not balance: EUR -1/);
    expect(await attempt([["a", -10]])).toMatch(/at least two are required/);
    expect(await attempt([])).toMatch(/at least two are required/);
  });

  it("refuses to update, delete or truncate entries and postings", async () => {
    const entry = entryOf(await record(movement(account(), account(), 7)));
    for (const statement of [
      sql`update ledger.postings set amount = amount * 2 where entry_sequence = ${entry.sequence}`,
      sql`delete from ledger.postings where entry_sequence = ${entry.sequence}`,
      sql`update ledger.entries set description = 'edited' where sequence = ${entry.sequence}`,
      sql`delete from ledger.entries where sequence = ${entry.sequence}`,
      sql`truncate ledger.postings`,
      sql`truncate ledger.checkpoints`,
    ]) {
      const outcome = await withDatabase(settings(), (db) => db.execute(statement)).then(
        () => "done",
        (error: unknown) => String((error as { cause?: unknown }).cause ?? error),
      );
      expect(outcome).toMatch(/append-only/);
    }
  });
});

describe("tamper evidence", () => {
  it("verifies the chain, and names the entry whose posting was changed behind the ledger's back", async () => {
    for (let i = 0; i < 3; i++) await record(movement(account(), account(), 100 + i));
    const target = entryOf(await record(movement(account(), account(), 999)));
    await record(movement(account(), account(), 5));
    expect(await verify()).toMatchObject({ valid: true });

    await asIntruder((db) =>
      db.execute(sql`update ledger.postings set amount = amount * 10
                      where entry_sequence = ${target.sequence}`),
    );
    try {
      expect(await verify()).toMatchObject({
        valid: false,
        firstBreak: { sequence: target.sequence, reason: "content_hash_mismatch" },
      });
    } finally {
      await asIntruder((db) =>
        db.execute(sql`update ledger.postings set amount = amount / 10 where entry_sequence = ${target.sequence}`),
      );
    }
    expect(await verify()).toMatchObject({ valid: true });
  });

  it("a rewritten chain (every later hash recomputed) is caught by the signed checkpoint", async () => {
    const target = entryOf(await record(movement(account(), account(), 77)));
    await record(movement(account(), account(), 1));
    // The cron signs the head.
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/10 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const report = await verify();
    expect(report).toMatchObject({ valid: true });
    expect(report.checkpoints).toBeGreaterThan(0);

    type Row = { sequence: string; id: string; transfer_id: string; description: string; recorded_at: string };
    const original = await asIntruder(async (db) => {
      const rows = resultRows<Row & { previous_hash: string; hash: string }>(
        await db.execute(sql`select sequence::text, id, transfer_id, description, recorded_at, previous_hash, hash
                               from ledger.entries where sequence >= ${target.sequence} order by sequence`),
      );
      await db.execute(sql`update ledger.postings set amount = amount * 3 where entry_sequence = ${target.sequence}`);
      // Recompute every hash from the changed entry on, as an intruder who knows the scheme would.
      let previous = rows[0]?.previous_hash ?? "";
      for (const row of rows) {
        const legs = resultRows<{ leg: number; account_id: string; amount: string; currency: string }>(
          await db.execute(sql`select leg::int, account_id, amount::text, currency from ledger.postings
                                where entry_sequence = ${row.sequence} order by leg`),
        );
        const hash = await entryHash(previous, {
          sequence: BigInt(row.sequence),
          id: row.id,
          transferId: row.transfer_id,
          description: row.description,
          recordedAt: new Date(row.recorded_at),
          postings: legs.map((p) => ({
            leg: p.leg,
            accountId: p.account_id,
            amount: BigInt(p.amount),
            currency: p.currency,
          })),
        });
        await db.execute(
          sql`update ledger.entries set previous_hash = ${previous}, hash = ${hash} where sequence = ${row.sequence}`,
        );
        previous = hash;
      }
      return rows;
    });
    try {
      const forged = await verify();
      expect(forged).toMatchObject({ valid: false, firstBreak: { reason: "checkpoint_hash_mismatch" } });
    } finally {
      await asIntruder(async (db) => {
        await db.execute(sql`update ledger.postings set amount = amount / 3 where entry_sequence = ${target.sequence}`);
        for (const row of original) {
          await db.execute(sql`update ledger.entries set previous_hash = ${row.previous_hash}, hash = ${row.hash}
                                where sequence = ${row.sequence}`);
        }
      });
    }
    expect(await verify()).toMatchObject({ valid: true });
  });
});

describe("account history", () => {
  it("lists an account's postings newest first with the running balance, and the balance as of any entry", async () => {
    const mine = account();
    const seqs: string[] = [];
    for (const [from, to, amount] of [
      [account(), mine, 100],
      [mine, account(), 30],
      [account(), mine, 5],
    ] as const) {
      seqs.push(entryOf(await record(movement(from, to, amount))).sequence);
    }
    const { token: audit } = await auditor();
    const page = (await (await call(`/v1/ledger/accounts/${mine}/entries?limit=2`, audit)).json()) as {
      balances: Record<string, string>;
      items: Array<{ sequence: string; amount: string; balanceAfter: string }>;
      nextCursor?: string;
    };
    expect(page.balances).toEqual({ EUR: "75" });
    expect(page.items.map((i) => [i.amount, i.balanceAfter])).toEqual([
      ["5", "75"],
      ["-30", "70"],
    ]);
    const rest = (await (
      await call(`/v1/ledger/accounts/${mine}/entries?limit=2&cursor=${page.nextCursor}`, audit)
    ).json()) as { items: Array<{ amount: string; balanceAfter: string }>; nextCursor?: string };
    expect(rest.items.map((i) => [i.amount, i.balanceAfter])).toEqual([["100", "100"]]);
    expect(rest.nextCursor).toBeUndefined();

    const asOf = (await (await call(`/v1/ledger/accounts/${mine}/entries?asOf=${seqs[1]}`, audit)).json()) as {
      balances: Record<string, string>;
    };
    expect(asOf.balances).toEqual({ EUR: "70" });
    const customer = await testCaller(env, "accounts:read");
    expect((await call(`/v1/ledger/accounts/${mine}/entries`, customer.token)).status).toBe(403);
  });
});
