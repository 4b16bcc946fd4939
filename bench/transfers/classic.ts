/**
 * The classic transfer, the baseline the saga is measured against: what a conventional
 * monolith does per transfer in one database transaction, run by pgbench on the same server:
 *   BEGIN; SELECT … FOR UPDATE (both rows, in id order); two UPDATEs; two ledger INSERTs;
 *   one outbox INSERT; COMMIT;
 * (a) uniform over 1,000 accounts, (b) one hot source account paying random destinations.
 * Reports transfers/s, p50/p95/p99 (from pgbench's per-transaction log) and PostgreSQL commits
 * per transfer. Uses a database of its own, dropped afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { percentile } from "../accounts/scenarios.ts";
import { runPgbench, scratchDatabase } from "../pgbench.ts";
import { type TransferRow, type TransferScenario, transferScenarios } from "./scenarios.ts";

const database = "edgebank_bench_classic_transfers";

/** Account 0 is the hot source; 1..1000 are the uniform population (and the hot source's payees). */
const transferScript = (source: string) => `
${source}
\\set lo least(:src, :dst)
\\set hi greatest(:src, :dst)
BEGIN;
SELECT posted FROM accounts WHERE id = :lo FOR UPDATE;
SELECT posted FROM accounts WHERE id = :hi FOR UPDATE;
UPDATE accounts SET posted = posted - 1, version = version + 1 WHERE id = :src;
UPDATE accounts SET posted = posted + 1, version = version + 1 WHERE id = :dst;
INSERT INTO postings (transfer_id, account_id, amount) VALUES (nextval('transfer_ids'), :src, -1);
INSERT INTO postings (transfer_id, account_id, amount) VALUES (currval('transfer_ids'), :dst, 1);
INSERT INTO outbox (aggregate_id, payload) VALUES (currval('transfer_ids'), '{"type":"TransferCompleted","amount":"1"}');
COMMIT;
`;

const scripts: Record<TransferScenario, string> = {
  // A random pair of distinct accounts.
  "1,000 accounts": transferScript("\\set src random(1, 1000)\n\\set dst 1 + (:src - 1 + random(1, 999)) % 1000"),
  "hot source": transferScript("\\set src 0\n\\set dst random(1, 1000)"),
};

export async function runClassicTransfers(serverUrl: URL, levels: number[], seconds: number): Promise<TransferRow[]> {
  const work = mkdtempSync(join(tmpdir(), "edgebank-classic-transfers-"));
  const scratch = await scratchDatabase(serverUrl, database);
  const benchUrl = scratch.url;
  const db = postgres(benchUrl.toString(), { max: 1, onnotice: () => {} });
  try {
    await db.unsafe(`
      create table accounts (id bigint primary key, posted bigint not null, version bigint not null default 0,
                             check (posted >= 0));
      create sequence transfer_ids;
      create table postings (id bigserial primary key, transfer_id bigint not null,
                             account_id bigint not null references accounts(id), amount bigint not null,
                             recorded_at timestamptz not null default now());
      create table outbox (id bigserial primary key, aggregate_id bigint not null, payload jsonb not null,
                           created_at timestamptz not null default now(), published_at timestamptz);
      insert into accounts (id, posted) select n, 1000000000000 from generate_series(0, 1000) n;
    `);
    const files = Object.fromEntries(
      transferScenarios.map((scenario, index) => {
        const file = join(work, `transfer-${index}.sql`);
        writeFileSync(file, scripts[scenario]);
        return [scenario, file];
      }),
    ) as Record<TransferScenario, string>;
    const commits = async () => {
      const [row] = await db<{ n: string }[]>`
        select xact_commit as n from pg_stat_database where datname = ${database}`;
      return Number(row?.n ?? 0);
    };

    const rows: TransferRow[] = [];
    for (const scenario of transferScenarios) {
      for (const concurrency of levels) {
        await new Promise((resolve) => setTimeout(resolve, 600)); // let pg_stat_database catch up
        const before = await commits();
        const { latencies, tps, failed } = runPgbench({
          url: benchUrl.toString(),
          script: files[scenario],
          concurrency,
          seconds,
          workDir: work,
        });
        await new Promise((resolve) => setTimeout(resolve, 600));
        const after = await commits();
        const transfers = latencies.length;
        rows.push({
          design: "classic (pgbench)",
          scenario,
          concurrency,
          transfers,
          perSecond: Math.round(tps),
          p50: percentile(latencies, 50),
          p95: percentile(latencies, 95),
          p99: percentile(latencies, 99),
          commitsPerTransfer: (after - before) / transfers,
          cpuMsPerTransfer: Number.NaN,
          errors: failed,
        });
      }
    }
    // Money is conserved: every transfer moved 1 from one account to another.
    const [total] = await db<{ sum: string }[]>`select sum(posted)::text as sum from accounts`;
    if (BigInt(total?.sum ?? 0) !== 1001n * 1000000000000n) throw new Error("classic transfers lost money");
    return rows;
  } finally {
    await db.end();
    await scratch.drop();
    rmSync(work, { recursive: true, force: true });
  }
}
