/**
 * The classic account service, the baseline the AccountDO is measured against: what a
 * conventional service does per debit, run by pgbench on the same PostgreSQL:
 *   BEGIN; SELECT … FOR UPDATE; UPDATE balance; INSERT journal; INSERT outbox; COMMIT;
 * (a) every debit on one hot account, (b) debits spread over 1,000 accounts. Reports
 * transactions/s, p50/p99 latency (from pgbench's per-transaction log) and PostgreSQL commits
 * per operation (the xact_commit delta of its database divided by operations). Uses a database
 * of its own, dropped afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { runPgbench, scratchDatabase } from "../pgbench.ts";
import { type BenchRow, percentile, type Scenario, scenarios } from "./scenarios.ts";

const database = "edgebank_bench_classic";

/** Concurrency levels the server can serve: pgbench needs one connection per client. */
export async function classicLevels(serverUrl: URL, wanted: number[]): Promise<number[]> {
  const admin = postgres(serverUrl.toString(), { max: 1, onnotice: () => {} });
  const [row] = await admin<{ max_connections: string }[]>`show max_connections`;
  await admin.end();
  const limit = Number(row?.max_connections ?? 100) - 5; // room for this script and the server's own
  return [...new Set(wanted.map((c) => Math.min(c, limit)))];
}

export async function runClassic(serverUrl: URL, levels: number[], seconds: number): Promise<BenchRow[]> {
  const work = mkdtempSync(join(tmpdir(), "edgebank-classic-"));
  const scratch = await scratchDatabase(serverUrl, database);
  const benchUrl = scratch.url;
  const db = postgres(benchUrl.toString(), { max: 1, onnotice: () => {} });
  try {
    await db.unsafe(`
      create table accounts (id text primary key, posted bigint not null, version bigint not null default 0,
                             check (posted >= 0));
      create table journal (id bigserial primary key, account_id text not null references accounts(id),
                            amount bigint not null check (amount > 0), balance_after bigint not null,
                            created_at timestamptz not null default now());
      create table outbox (id bigserial primary key, aggregate_id text not null, payload jsonb not null,
                           created_at timestamptz not null default now(), published_at timestamptz);
      insert into accounts (id, posted) values ('hot', 1000000000000);
      insert into accounts (id, posted) select 'acc-' || n, 1000000000000 from generate_series(1, 1000) n;
    `);
    const debit = (account: string) => `
BEGIN;
SELECT posted FROM accounts WHERE id = ${account} FOR UPDATE;
UPDATE accounts SET posted = posted - 1, version = version + 1 WHERE id = ${account};
INSERT INTO journal (account_id, amount, balance_after) SELECT id, 1, posted FROM accounts WHERE id = ${account};
INSERT INTO outbox (aggregate_id, payload) VALUES (${account}, '{"type":"AccountDebited","amount":"1"}');
COMMIT;
`;
    const scripts: Record<Scenario, string> = {
      "hot account": join(work, "hot.sql"),
      "1,000 accounts": join(work, "spread.sql"),
    };
    writeFileSync(scripts["hot account"], debit("'hot'"));
    writeFileSync(scripts["1,000 accounts"], `\\set n random(1, 1000)\n${debit("'acc-' || :n")}`);

    const commits = async () => {
      const [row] = await db<
        { n: string }[]
      >`select xact_commit as n from pg_stat_database where datname = ${database}`;
      return Number(row?.n ?? 0);
    };

    const rows: BenchRow[] = [];
    for (const scenario of scenarios) {
      for (const concurrency of levels) {
        await new Promise((resolve) => setTimeout(resolve, 600)); // let pg_stat_database catch up
        const before = await commits();
        const { latencies, tps, failed } = runPgbench({
          url: benchUrl.toString(),
          script: scripts[scenario],
          concurrency,
          seconds,
          workDir: work,
        });
        await new Promise((resolve) => setTimeout(resolve, 600));
        const after = await commits();
        const operations = latencies.length;
        rows.push({
          design: "classic (pgbench)",
          scenario,
          concurrency,
          operations,
          opsPerSecond: Math.round(tps),
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          commitsPerOp: (after - before) / operations,
          errors: failed,
        });
      }
    }
    return rows;
  } finally {
    await db.end();
    await scratch.drop();
    rmSync(work, { recursive: true, force: true });
  }
}
