/**
 * npm run bench:transfers
 *
 * End-to-end transfers through the gateway, beside the classic design and the runtime's ceiling,
 * in one run on one PostgreSQL server (DATABASE_URL, default the local server):
 * - saga: `POST /v1/transfers` with a customer's real access token (ES256 JWT from the auth
 *   service, verified by the gateway and again by transfers) and a fresh Idempotency-Key, sent
 *   by wrk to the gateway on workerd's own port (wrangler's front proxy would halve throughput).
 *   Each transfer runs the whole saga (hold → credit → capture → ledger entry → completed) before
 *   the 201; the databases sit behind PgBouncer in transaction mode, as Hyperdrive pools them.
 * - no-op: `GET /health` on the same gateway port: the runtime's ceiling for one request.
 * - classic: the pgbench transfer of classic.ts.
 * (a) uniform over 1,000 accounts, (b) one hot source account; concurrency 1, 8, 32.
 * Commits per transfer = the xact_commit delta of every edgebank database / completed transfers.
 * Afterwards the books are checked: money conserved, and the ledger reconciled with accounts.
 * Needs wrk and pgbouncer (Debian packages) and pgbench.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { freePort } from "../../dev/stack/ports.ts";
import { newKek, startStack } from "../../dev/stack/stack.ts";
import { findWorkerdInspector, findWorkerdPort } from "../../dev/stack/workerd-port.ts";
import { workerdCpuMs } from "../cpu.ts";
import { stopOnce } from "../lifecycle.ts";
import { telemetryOn, telemetryVars } from "../options.ts";
import { profileFolder, reportProfile, startProfile } from "../profile.ts";
import { login, post } from "../session.ts";
import { runWrk, type WrkResult, wrkErrors } from "../wrk.ts";
import { runClassicTransfers } from "./classic.ts";
import { printable, type TransferRow, type TransferScenario, transferLevels, transferScenarios } from "./scenarios.ts";

const serverUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const accountCount = 1_000;
const funding = 1_000_000_000_000n;
const luaScript = fileURLToPath(new URL("./transfers.lua", import.meta.url));
/**
 * The pause before each measured run: workerd evicts a Durable Object after 10 s without work,
 * and under wrangler dev every eviction (closing the object's SQLite database) runs on the one
 * thread all objects share. Without the pause, the hundred-odd saga objects of the warm-up (or
 * of the run before) were evicted together inside the next run and stalled it for up to 1.3 s:
 * that was the p99 at c=1. A run's own objects are still evicted within it, as in steady state.
 */
const EVICTION_PAUSE_MS = 15_000;
for (const tool of ["wrk", "pgbench", "pgbouncer"]) {
  if (spawnSync("which", [tool]).status !== 0) throw new Error(`${tool} is needed (Debian: apt-get install ${tool})`);
}

const log = (line: string) => console.error(`[bench] ${line}`);
log("classic baseline (pgbench)");
const classicRows = await runClassicTransfers(new URL(serverUrl), transferLevels, seconds);

const work = mkdtempSync(join(tmpdir(), "edgebank-bench-transfers-"));
const operator = { email: "operator@bench.edgebank.test", password: newKek(), role: "operator" as const };
const auditor = { email: "auditor@bench.edgebank.test", password: newKek(), role: "auditor" as const };
const port = await freePort();
const stack = await startStack({
  port,
  databaseUrl: serverUrl,
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  databasePrefix: "edgebank_bench",
  freshDatabases: true,
  persistDir: join(work, "wrangler"),
  dbDriver: "hyperdrive",
  signingKeyKek: newKek(),
  ledgerCheckpointKey: newKek(),
  staff: [operator, auditor],
  output: "ignore",
  // One customer sends every transfer: lift the per-principal limit. No access log line per
  // request: local dev ships every console line to wrangler, which costs more than the request.
  gatewayVars: {
    RATE_LIMIT_API_PER_MINUTE: "100000",
    LOG_LEVEL: "warn",
    REDIS_KEY_PREFIX: `bench-${Date.now()}`,
    ...telemetryVars(),
  },
  serviceVars: { LOG_LEVEL: "warn", ...telemetryVars() },
  // No wrangler trace collector on the measured workers (production has none).
  localObservability: false,
  log,
});
log(`telemetry ${telemetryOn ? "on (traces sampled at 0.1, Sentry, Analytics Engine)" : "off"}`);
const databases = Object.values(stack.databases.urls);
const transfersDb = postgres(stack.databases.urls.transfers ?? "", { max: 1, onnotice: () => {} });
const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
// Stopped after the run, and on Ctrl-C: nothing is left running.
const stopAll = stopOnce(async () => {
  await transfersDb.end();
  await admin.end();
  await stack.stop();
  rmSync(work, { recursive: true, force: true });
});

try {
  await stack.waitUntilReady(120_000);
  const gateway = `http://127.0.0.1:${await findWorkerdPort(stack.wrangler, "gateway", port)}`;
  log(`gateway on workerd's own port: ${gateway}`);

  const accounts = await openAndFund();
  const file = join(work, "accounts.txt");
  writeFileSync(file, `${accounts.join("\n")}\n`);
  const totalBefore = await customerTotal(accounts);

  const rows: TransferRow[] = [];
  for (const scenario of transferScenarios) {
    const token = await login(stack.url, `bench.customer@example.test`, "benchmark customer passphrase");
    const mode = scenario === "hot source" ? "hot" : "uniform";
    await transfer(gateway, { token, file, mode, run: `warmup-${Date.now().toString(36)}` }, 8, 3);
    for (const concurrency of transferLevels) {
      await new Promise((resolve) => setTimeout(resolve, EVICTION_PAUSE_MS)); // pg_stat_database catches up too
      const before = await commits();
      const run = `r${Date.now().toString(36)}`;
      const cpuBefore = workerdCpuMs(stack.wrangler.pid ?? 0);
      const profiles = profileFolder ? await profileWorkers() : [];
      const result = await transfer(gateway, { token, file, mode, run }, concurrency, seconds);
      const outcome = await settledRun(run);
      const cpuMs = workerdCpuMs(stack.wrangler.pid ?? 0) - cpuBefore;
      const after = await commits();
      for (const { worker, profile } of profiles) {
        reportProfile(
          profileFolder ?? "",
          `${scenario}-c${concurrency}-${worker}`,
          await profile.stop(),
          outcome.completed,
          15,
        );
      }
      rows.push({
        design: "saga (gateway → transfers)",
        scenario,
        concurrency,
        transfers: outcome.completed,
        perSecond: Math.round(outcome.completed / (result.durationUs / 1e6)),
        p50: result.p50 / 1000,
        p95: result.p95 / 1000,
        p99: result.p99 / 1000,
        commitsPerTransfer: ((after.get("total") ?? 0) - (before.get("total") ?? 0)) / Math.max(1, outcome.completed),
        cpuMsPerTransfer: cpuMs / Math.max(1, outcome.completed),
        errors: wrkErrors(result) + outcome.failed,
      });
      log(
        `${scenario} c=${concurrency}: ${rows.at(-1)?.perSecond} transfers/s, p99 ${(result.p99 / 1000).toFixed(1)} ms` +
          ` (${outcome.completed} completed, ${outcome.failed} failed, ${wrkErrors(result)} errors, ${result.requests} requests)`,
      );
      log(`  commits per transfer by database: ${commitsBreakdown(before, after, outcome.completed)}`);
    }
  }
  for (const concurrency of transferLevels) {
    const result = await runWrk(`${gateway}/health`, { concurrency, seconds });
    rows.push({
      design: "no-op (gateway GET /health)",
      scenario: "–",
      concurrency,
      transfers: result.requests - result.status,
      perSecond: Math.round((result.requests - result.status) / (result.durationUs / 1e6)),
      p50: result.p50 / 1000,
      p95: result.p95 / 1000,
      p99: result.p99 / 1000,
      commitsPerTransfer: Number.NaN,
      cpuMsPerTransfer: Number.NaN,
      errors: wrkErrors(result),
    });
  }
  await checkBooks(accounts, totalBefore);
  rows.push(...classicRows);

  console.log(
    `transfers benchmark: PostgreSQL at ${new URL(serverUrl).host}, ${seconds} s per run, wrk on loopback to the ` +
      "gateway's workerd port, databases behind PgBouncer (transaction mode)",
  );
  console.table(printable(rows));
  report(rows);
} finally {
  await stopAll();
}

/** The Workers a transfer goes through, each profiled in its own isolate (BENCH_CPU_PROFILE). */
async function profileWorkers() {
  const started = [];
  for (const worker of ["gateway", "auth", "transfers", "accounts", "ledger", "notifications"]) {
    try {
      started.push({
        worker,
        profile: await startProfile(await findWorkerdInspector(stack.wrangler, `edgebank-${worker}`)),
      });
    } catch (error) {
      log(`no profile of ${worker}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return started;
}

/** xact_commit of every database of the stack, by database (and `total`). */
async function commits(): Promise<Map<string, number>> {
  const rows = await admin<{ datname: string; n: string }[]>`
    select datname, xact_commit::text as n from pg_stat_database
     where datname = any(${databases.map((url) => new URL(url).pathname.slice(1))})`;
  const byDatabase = new Map(rows.map((row) => [row.datname.replace("edgebank_bench_", ""), Number(row.n)]));
  byDatabase.set(
    "total",
    [...byDatabase.values()].reduce((sum, n) => sum + n, 0),
  );
  return byDatabase;
}

/** Commits per completed transfer between two `commits()`, by database: where they go. */
function commitsBreakdown(before: Map<string, number>, after: Map<string, number>, transfers: number): string {
  return [...after]
    .filter(([name]) => name !== "total")
    .map(([name, n]) => [name, (n - (before.get(name) ?? 0)) / Math.max(1, transfers)] as const)
    .filter(([, perTransfer]) => perTransfer >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([name, perTransfer]) => `${name} ${perTransfer.toFixed(2)}`)
    .join(", ");
}

function transfer(
  url: string,
  env: { token: string; file: string; mode: "uniform" | "hot"; run: string },
  concurrency: number,
  duration: number,
): Promise<WrkResult> {
  return runWrk(`${url}/v1/transfers`, {
    concurrency,
    seconds: duration,
    script: luaScript,
    env: { BENCH_TOKEN: env.token, BENCH_ACCOUNTS: env.file, BENCH_MODE: env.mode, BENCH_RUN: env.run },
  });
}

/** Waits until no transfer of the run is PENDING (a 202 finishes in the background); counts outcomes. */
async function settledRun(run: string): Promise<{ completed: number; failed: number }> {
  for (let attempt = 0; ; attempt++) {
    const rows = await transfersDb<{ status: string; n: number }[]>`
      select status, count(*)::int as n from transfers.transfers where description = ${run} group by status`;
    const count = (status: string) => rows.find((row) => row.status === status)?.n ?? 0;
    if (count("PENDING") === 0 || attempt === 120) {
      return { completed: count("COMPLETED"), failed: count("FAILED") + count("NEEDS_ATTENTION") + count("PENDING") };
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** One customer opens the hot account and 1,000 more; an operator funds each with a deposit. */
async function openAndFund(): Promise<string[]> {
  const email = "bench.customer@example.test";
  const password = "benchmark customer passphrase";
  await post(`${stack.url}/v1/auth/register`, { email, password });
  const customer = await login(stack.url, email, password);
  const staff = await login(stack.url, operator.email, operator.password);
  const ids: string[] = [];
  let opened = 0;
  const started = Date.now();
  const worker = async () => {
    while (opened < accountCount + 1) {
      opened += 1;
      const open = await post(
        `${stack.url}/v1/accounts`,
        { currency: "EUR" },
        { authorization: `Bearer ${customer}`, "idempotency-key": crypto.randomUUID() },
      );
      if (open.status !== 201) throw new Error(`open failed: ${open.status} ${await open.text()}`);
      const { id } = (await open.json()) as { id: string };
      ids.push(id);
      const deposit = await post(
        `${stack.url}/v1/transfers/deposits`,
        { accountId: id, amount: funding.toString(), currency: "EUR", description: "benchmark funding" },
        { authorization: `Bearer ${staff}`, "idempotency-key": crypto.randomUUID() },
      );
      if (deposit.status !== 201) throw new Error(`deposit failed: ${deposit.status} ${await deposit.text()}`);
      await deposit.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  log(`opened and funded ${ids.length} accounts in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return ids;
}

async function customerTotal(accounts: string[]): Promise<bigint> {
  const db = postgres(stack.databases.urls.accounts ?? "", { max: 1, onnotice: () => {} });
  try {
    const [row] = await db<{ sum: string }[]>`
      select coalesce(sum(posted_balance), 0)::text as sum from accounts.accounts where id = any(${accounts})`;
    return BigInt(row?.sum ?? 0);
  } finally {
    await db.end();
  }
}

/**
 * The books after the runs: transfers among the customer's accounts move money but never create
 * or destroy it, nothing is left held, and the ledger reconciles with every account.
 */
async function checkBooks(accounts: string[], totalBefore: bigint): Promise<void> {
  const total = await customerTotal(accounts);
  if (total !== totalBefore) throw new Error(`money not conserved: ${totalBefore} before, ${total} after`);
  const token = await login(stack.url, auditor.email, auditor.password);
  const response = await fetch(`${stack.url}/v1/ledger/reconciliations`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await response.json()) as { accountsChecked?: number; mismatches?: unknown[] };
  if (response.status !== 201 || body.mismatches?.length !== 0) {
    throw new Error(`reconciliation failed: ${response.status} ${JSON.stringify(body).slice(0, 500)}`);
  }
  log(`books: money conserved over ${accounts.length} accounts; ledger reconciled (${body.accountsChecked} accounts)`);
}

function report(rows: TransferRow[]): void {
  const find = (design: string, scenario: TransferScenario | "–", concurrency: number) =>
    rows.find((r) => r.design.startsWith(design) && r.scenario === scenario && r.concurrency === concurrency);
  const ratio = (a?: TransferRow, b?: TransferRow) => (a && b ? a.perSecond / b.perSecond : Number.NaN);
  const uniform32 = find("saga", "1,000 accounts", 32);
  const hot32 = find("saga", "hot source", 32);
  const noop32 = find("no-op", "–", 32);
  const uniform1 = find("saga", "1,000 accounts", 1);
  const saga = rows.filter((r) => r.design.startsWith("saga") && Number.isFinite(r.cpuMsPerTransfer));
  const checks: Array<[string, number, (value: number) => boolean]> = [
    ["uniform, c=32: saga / no-op ≥ 0.1", ratio(uniform32, noop32), (v) => v >= 0.1],
    ["hot source, c=32: saga / classic hot ≥ 0.15", ratio(hot32, find("classic", "hot source", 32)), (v) => v >= 0.15],
    ["uniform, c=1: p99 < 50 ms", uniform1?.p99 ?? Number.NaN, (v) => v < 50],
    ["uniform, c=1: commits per transfer ≤ 6", uniform1?.commitsPerTransfer ?? Number.NaN, (v) => v <= 6],
    ["uniform, c=32: commits per transfer ≤ 4", uniform32?.commitsPerTransfer ?? Number.NaN, (v) => v <= 4],
    [
      "workerd CPU per transfer ≤ 8 ms (worst saga run)",
      Math.max(...saga.map((r) => r.cpuMsPerTransfer)),
      (v) => v <= 8,
    ],
  ];
  for (const [label, value, met] of checks)
    console.log(`${met(value) ? "met   " : "missed"} ${label}: ${value.toFixed(2)}`);
  console.log(
    `       uniform, c=32: saga / classic = ${ratio(uniform32, find("classic", "1,000 accounts", 32)).toFixed(3)}; ` +
      `hot source, c=32: saga / no-op = ${ratio(hot32, noop32).toFixed(3)}`,
  );
  const errors = rows.filter((r) => r.design.startsWith("saga")).reduce((sum, r) => sum + r.errors, 0);
  console.log(`${errors === 0 ? "met   " : "missed"} saga runs without errors or failed transfers: ${errors}`);
}
