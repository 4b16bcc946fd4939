import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import type { LedgerService } from "@edgebank/contracts";
import { type Database, resultRows, withDatabase } from "@edgebank/db";
import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AccountBalance, type BalanceSource, reconcile } from "../src/domain/reconcile.ts";
import worker from "../src/index.ts";
import { RECONCILIATION_CRON } from "../src/scheduled.ts";

const settings = () => ({
  driver: "hyperdrive" as const,
  connectionString: env.LEDGER_DB.connectionString,
  prepare: env.DB_PREPARE === "true",
});

const account = () => `acc_test_${crypto.randomUUID().replaceAll("-", "")}`;

async function record(transferId: string, postings: Array<[string, number, string?]>): Promise<void> {
  const result = await (env.RPC_AS_TRANSFERS as unknown as LedgerService).record({
    transferId,
    description: "reconciliation test",
    postings: postings.map(([accountId, amount, currency = "EUR"]) => ({
      accountId,
      amount: String(amount),
      currency,
    })),
  });
  expect(result).toMatchObject({ status: "applied", replayed: false });
}

type Balances = AccountBalance[];

/**
 * A stand-in accounts service that agrees with the ledger as it is at the moment it is asked
 * (other test files write to the same ledger meanwhile), except where `adjust` says otherwise.
 * It pages by account id in the database's order, as the real one does.
 */
function liveSource(db: Database, adjust: (balances: Balances) => Balances = (b) => b) {
  const balancesOf = async (ids: string[]): Promise<Balances> => {
    if (ids.length === 0) return [];
    const rows = resultRows<{ account_id: string; currency: string; balance: string }>(
      await db.execute(sql`select account_id, currency, sum(amount)::text as balance from ledger.postings
                            where account_id in (${sql.join(
                              ids.map((id) => sql`${id}`),
                              sql`, `,
                            )}) group by account_id, currency`),
    );
    return rows.map((row) => ({ id: row.account_id, currency: row.currency, posted: BigInt(row.balance) }));
  };
  const source: BalanceSource & { pages: number; seen: string[] } = {
    pages: 0,
    seen: [],
    async page(after, limit) {
      source.pages++;
      const ids = resultRows<{ account_id: string }>(
        await db.execute(sql`select distinct account_id from ledger.postings
                              where ${after ?? null}::text is null or account_id > ${after ?? null}::text
                              order by account_id limit ${limit}`),
      ).map((row) => row.account_id);
      source.seen.push(...ids);
      const balances = adjust(await balancesOf(ids)).filter((b) => ids.includes(b.id));
      return { items: balances, next: ids.length === limit ? (ids.at(-1) ?? null) : null };
    },
    async named(ids) {
      const known = adjust(await balancesOf(ids));
      return known.filter((b) => ids.includes(b.id));
    },
  };
  return source;
}

const noWait = { settleDelays: [0, 0], wait: async () => {} };
const about = (report: { mismatches: Array<{ accountId: string }> }, ids: string[]) =>
  report.mismatches.filter((m) => ids.includes(m.accountId));

describe("reconciliation of the ledger with accounts", () => {
  it("finds nothing when every posted balance equals the ledger's, across pages", async () => {
    const [a, b, c] = [account(), account(), account()];
    await record(`trf_test_${crypto.randomUUID()}`, [
      [a, -300],
      [b, 300],
    ]);
    await record(`trf_test_${crypto.randomUUID()}`, [
      [b, -100],
      [c, 100],
    ]);
    await withDatabase(settings(), async (db) => {
      const source = liveSource(db);
      const report = await reconcile(db, source, { ...noWait, pageSize: 2 });
      expect(about(report, [a, b, c])).toEqual([]);
      expect(source.seen).toEqual(expect.arrayContaining([a, b, c]));
      expect(new Set(source.seen).size).toBe(source.seen.length); // every account once
      expect(source.pages).toBeGreaterThanOrEqual(Math.ceil(source.seen.length / 2));
      expect(report.accountsChecked).toBeGreaterThanOrEqual(3);
    });
  });

  it("reports an account whose posted balance differs, with both figures, and one the ledger alone knows", async () => {
    const [a, b, stray] = [account(), account(), account()];
    await record(`trf_test_${crypto.randomUUID()}`, [
      [a, -500],
      [b, 500],
    ]);
    await record(`trf_test_${crypto.randomUUID()}`, [
      [stray, -20, "GBP"],
      [b, 20, "GBP"],
    ]);
    await withDatabase(settings(), async (db) => {
      const source = liveSource(db, (balances) =>
        balances
          // The accounts service moved 25 more out of `a` than the books show (money created or lost).
          .map((x) => (x.id === a ? { ...x, posted: x.posted - 25n } : x))
          // It does not know `stray` at all, and `b` holds EUR only there.
          .filter((x) => x.id !== stray && !(x.id === b && x.currency === "GBP")),
      );
      const report = await reconcile(db, source, { ...noWait, pageSize: 3 });
      expect(about(report, [a, b, stray])).toEqual(
        expect.arrayContaining([
          { accountId: a, currency: "EUR", accounts: "-525", ledger: "-500", difference: "-25" },
          { accountId: stray, currency: "GBP", accounts: null, ledger: "-20", difference: "20" },
          { accountId: b, currency: "GBP", accounts: "0", ledger: "20", difference: "-20" },
        ]),
      );
      expect(about(report, [a, b, stray])).toHaveLength(3);
    });
  });

  it("does not report a transfer in flight: the accounts moved, the ledger entry follows within the settle time", async () => {
    const [a, b] = [account(), account()];
    await withDatabase(settings(), async (db) => {
      // The accounts service already shows the captured and credited transfer …
      const source = liveSource(db, (balances) => [
        ...balances.filter((x) => x.id !== a && x.id !== b),
        { id: a, currency: "EUR", posted: -70n },
        { id: b, currency: "EUR", posted: 70n },
      ]);
      const inFlight = { ...source, page: async () => ({ items: await source.named([a, b]), next: null }) };
      let waits = 0;
      const report = await reconcile(db, inFlight, {
        settleDelays: [1, 1, 1],
        // … and the saga records its entry during the first pause.
        wait: async () => {
          if (waits++ === 0)
            await record(`trf_test_${crypto.randomUUID()}`, [
              [a, -70],
              [b, 70],
            ]);
        },
      });
      expect(waits).toBeGreaterThanOrEqual(1);
      expect(about(report, [a, b])).toEqual([]);
    });
  });

  it("a difference that keeps changing but never closes is still reported after the last check", async () => {
    const [a, b] = [account(), account()];
    await withDatabase(settings(), async (db) => {
      let drift = 1n;
      // A sloppy source: it answers `a` (with a new figure) whatever it is asked.
      const accounts = () => [{ id: a, currency: "EUR", posted: drift++ }];
      const report = await reconcile(
        db,
        { page: async () => ({ items: accounts(), next: null }), named: async () => accounts() },
        noWait,
      );
      expect(about(report, [a, b])).toEqual([expect.objectContaining({ accountId: a, ledger: "0" })]);
    });
  });
});

describe("the reconciliation cron and the auditor's route", () => {
  let logs: Array<Record<string, unknown>> = [];
  beforeEach(() => {
    logs = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => {
      try {
        logs.push(JSON.parse(line));
      } catch {
        // not a structured line
      }
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it("when accounts cannot be reached, the cron logs the failure and keeps no report; the route answers 503", async () => {
    const countRuns = () =>
      withDatabase(settings(), async (db) => {
        const [row] = resultRows<{ n: number }>(
          await db.execute(sql`select count(*)::int as n from ledger.reconciliations`),
        );
        return row?.n ?? 0;
      });
    const before = await countRuns();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: RECONCILIATION_CRON }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(logs).toContainEqual(expect.objectContaining({ level: "error", msg: "ledger reconciliation failed" }));
    expect(await countRuns()).toBe(before);

    const { token } = await testCaller(env, "accounts:read ledger:read auditor");
    const response = await exports.default.fetch(
      new Request("https://ledger.internal/v1/ledger/reconciliations", {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
  });

  it("only auditors may run or read reconciliations", async () => {
    const { token } = await testCaller(env, "accounts:read ledger:read");
    for (const method of ["POST", "GET"]) {
      const response = await exports.default.fetch(
        new Request("https://ledger.internal/v1/ledger/reconciliations", {
          method,
          headers: { authorization: `Bearer ${token}` },
        }),
      );
      expect(response.status, method).toBe(403);
    }
  });
});
