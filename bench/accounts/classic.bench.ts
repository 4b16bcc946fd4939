/**
 * npm run bench:accounts:classic
 *
 * The baseline the AccountDO is measured against: what a conventional account service does per
 * debit, run by pgbench on the same PostgreSQL (DATABASE_URL, default the local server):
 *   BEGIN; SELECT … FOR UPDATE; UPDATE balance; INSERT journal; INSERT outbox; COMMIT;
 * (a) every debit on one hot account, (b) debits spread over 1,000 accounts, at concurrency
 * 1, 8, 32 and as close to 128 as the server's max_connections allows. Reports transactions/s,
 * p50/p99 latency (from pgbench's per-transaction log) and PostgreSQL commits per operation
 * (the xact_commit delta of the database divided by operations). Uses its own database.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";

const serverUrl = new URL(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
const database = "edgebank_bench_classic";
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const work = mkdtempSync(join(tmpdir(), "edgebank-classic-"));

const admin = postgres(serverUrl.toString(), { max: 1, onnotice: () => {} });
await admin.unsafe(`drop database if exists ${database} with (force)`);
await admin.unsafe(`create database ${database}`);
const [{ max_connections: maxConnections } = { max_connections: "100" }] = await admin<
  { max_connections: string }[]
>`show max_connections`;
await admin.end();

const benchUrl = new URL(serverUrl);
benchUrl.pathname = `/${database}`;
const db = postgres(benchUrl.toString(), { max: 1, onnotice: () => {} });
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
const scripts = {
  "hot account": join(work, "hot.sql"),
  "1,000 accounts": join(work, "spread.sql"),
};
writeFileSync(scripts["hot account"], debit("'hot'"));
writeFileSync(scripts["1,000 accounts"], `\\set n random(1, 1000)\n${debit("'acc-' || :n")}`);

async function commits(): Promise<number> {
  const [row] = await db<{ n: string }[]>`select xact_commit as n from pg_stat_database where datname = ${database}`;
  return Number(row?.n ?? 0);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const limit = Number(maxConnections) - 5; // leave room for this script and the server's own
const levels = [1, 8, 32, 128].map((c) => Math.min(c, limit));
const rows = [];
for (const [scenario, script] of Object.entries(scripts)) {
  for (const concurrency of [...new Set(levels)]) {
    const logDir = mkdtempSync(join(work, "log-"));
    await new Promise((resolve) => setTimeout(resolve, 600)); // let pg_stat_database catch up
    const before = await commits();
    const run = spawnSync(
      "pgbench",
      [
        "-n",
        "-M",
        "prepared",
        "-c",
        String(concurrency),
        "-j",
        String(Math.min(concurrency, 2)),
        "-T",
        String(seconds),
        "-f",
        script,
        "-l",
        "--log-prefix",
        join(logDir, "tx"),
        benchUrl.toString(),
      ],
      { encoding: "utf8" },
    );
    if (run.status !== 0) throw new Error(`pgbench failed: ${run.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const after = await commits();
    const latencies = readdirSync(logDir)
      .flatMap((file) => readFileSync(join(logDir, file), "utf8").trim().split("\n"))
      .map((line) => Number(line.split(" ")[2]) / 1000) // microseconds → ms
      .filter((ms) => Number.isFinite(ms))
      .sort((a, b) => a - b);
    const operations = latencies.length;
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout)?.[1] ?? Number.NaN);
    rows.push({
      design: "classic (pgbench)",
      scenario,
      concurrency,
      operations,
      "ops/s": Math.round(tps),
      "p50 ms": Math.round(percentile(latencies, 50) * 100) / 100,
      "p99 ms": Math.round(percentile(latencies, 99) * 100) / 100,
      "commits/op": Math.round(((after - before) / operations) * 100) / 100,
    });
  }
}
await db.end();
rmSync(work, { recursive: true, force: true });
const admin2 = postgres(serverUrl.toString(), { max: 1, onnotice: () => {} });
await admin2.unsafe(`drop database if exists ${database} with (force)`);
await admin2.end();

console.log(
  `classic account service baseline: PostgreSQL at ${serverUrl.host}, ${seconds} s per run, max_connections ${maxConnections}`,
);
if (!levels.includes(128)) console.log(`concurrency 128 needs max_connections > 133; ran ${limit} instead`);
console.table(rows);
