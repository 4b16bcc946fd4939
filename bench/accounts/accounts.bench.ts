/**
 * npm run bench:accounts
 *
 * Debits through the accounts service and its AccountDOs, beside the classic design, in one run
 * on one PostgreSQL server (DATABASE_URL, default the local server):
 * - AccountDO: `POST /internal/v1/accounts/:id/operations` (a debit of 1 with a fresh operation
 *   id, service token verified by the worker, one RPC to the account's object, group commit),
 *   sent by wrk to workerd's own port (wrangler's front proxy would halve throughput), with the
 *   accounts database behind PgBouncer in transaction mode, as Hyperdrive pools it in production
 *   (a thousand objects each keeping a connection would otherwise exhaust max_connections).
 * - no-op: `GET /internal/v1/accounts/:id` through the same worker, token check and RPC, answered
 *   from the object's memory: the runtime ceiling of this path on this machine.
 * - classic: the pgbench baseline of classic.ts.
 * (a) all on one hot account, (b) spread over 1,000 accounts; concurrency 1, 8, 32, 128.
 * PostgreSQL commits per operation = xact_commit delta of the service's database / operations.
 * Needs wrk and pgbouncer (Debian packages) and pgbench.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { startPgBouncer } from "../../dev/postgres/pgbouncer.ts";
import { freePort } from "../../dev/stack/ports.ts";
import { newKek, spawnWrangler, startStack, waitForOk } from "../../dev/stack/stack.ts";
import { findWorkerdInspector, findWorkerdPort } from "../../dev/stack/workerd-port.ts";
import { workerdCpuMs } from "../cpu.ts";
import { stopOnce } from "../lifecycle.ts";
import { telemetryAlternate, telemetryCompare, telemetryOn, telemetryVars } from "../options.ts";
import { profileFolder, reportProfile, startProfile } from "../profile.ts";
import { customerSession, post, provisionServiceToken } from "../session.ts";
import { spawnDoHop } from "../workerd.ts";
import { runWrk, type WrkResult, wrkErrors } from "../wrk.ts";
import { classicLevels, runClassic } from "./classic.ts";
import { type BenchRow, concurrencyLevels, printable, type Scenario, scenarios } from "./scenarios.ts";

const serverUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const spreadCount = 1_000;
const luaScript = fileURLToPath(new URL("./operations.lua", import.meta.url));
for (const tool of ["wrk", "pgbench", "pgbouncer"]) {
  if (spawnSync("which", [tool]).status !== 0) throw new Error(`${tool} is needed (Debian: apt-get install ${tool})`);
}

const log = (line: string) => console.error(`[bench] ${line}`);
// The baseline first, while the server has every connection free.
log("classic baseline (pgbench)");
const classicConcurrency = await classicLevels(new URL(serverUrl), concurrencyLevels);
const classicRows = await runClassic(new URL(serverUrl), classicConcurrency, seconds);

const work = mkdtempSync(join(tmpdir(), "edgebank-bench-accounts-"));
const stack = await startStack({
  port: await freePort(),
  databaseUrl: serverUrl,
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  databasePrefix: "edgebank_bench",
  freshDatabases: true,
  persistDir: join(work, "wrangler"),
  dbDriver: "hyperdrive",
  signingKeyKek: newKek(),
  ledgerCheckpointKey: newKek(),
  output: "ignore",
  gatewayVars: { RATE_LIMIT_API_PER_MINUTE: "100000", LOG_LEVEL: "warn", REDIS_KEY_PREFIX: `bench-${Date.now()}` },
  serviceVars: telemetryVars(),
  log,
});
log(`telemetry ${telemetryOn ? "on (traces sampled at 0.1, Sentry, Analytics Engine)" : "off"} on the measured worker`);
const accountsDb = stack.databases.urls.accounts ?? "";
const pooler = await startPgBouncer({ upstream: serverUrl, poolSize: 20, maxServerConnections: 20 });
/** The measured accounts worker (and auth) on a wrangler of its own, telemetry on or off. */
async function spawnDirect(name: string, on: boolean) {
  const port = await freePort();
  const worker = await spawnWrangler({
    configs: ["workers/accounts/wrangler.toml", "workers/auth/wrangler.toml"],
    port,
    persistDir: join(work, `wrangler-${name}`),
    env: {
      ...stack.hyperdriveEnv,
      CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_ACCOUNTS_DB: pooler.url(accountsDb),
    },
    // Unnamed statements through PgBouncer 1.18; no per-request access log line (local dev ships
    // every console line to wrangler, which costs more than the request).
    args: [
      "--var",
      "DB_PREPARE:false",
      "--var",
      "LOG_LEVEL:warn",
      ...Object.entries(telemetryVars({ otlpEndpoint: stack.otlpEndpoint, sentryDsn: stack.sentryDsn }, on)).flatMap(
        ([variable, value]) => ["--var", `${variable}:${value}`],
      ),
    ],
    output: "ignore",
    // No local trace collector on the measured workers (production has none).
    localObservability: false,
  });
  return { ...worker, port };
}
// BENCH_TELEMETRY=compare: a second worker with telemetry on, its own accounts, runs alternating.
// The second wrangler is measurably slower on one hot account even with both off, so
// BENCH_TELEMETRY_SWAP=1 gives telemetry to the first instead (the mean of both runs cancels it).
const swap = telemetryCompare && process.env.BENCH_TELEMETRY_SWAP === "1";
let direct = await spawnDirect("direct", telemetryOn || swap);
const directPort = direct.port;
const directOn = telemetryCompare ? await spawnDirect("direct-on", !swap) : undefined;
// The runtime's own ceiling for one Durable Object round trip, with nothing of edgebank in it.
const hop = await spawnDoHop(join(work, "wrangler-hop"));
const stats = postgres(accountsDb, { max: 1, onnotice: () => {} });
// Stopped after the run, and on Ctrl-C: nothing is left running.
const stopAll = stopOnce(async () => {
  await stats.end();
  await direct.stop();
  await directOn?.stop();
  await hop.stop();
  await pooler.stop();
  await stack.stop();
  rmSync(work, { recursive: true, force: true });
});

try {
  await stack.waitUntilReady(90_000);
  await waitForOk(`http://127.0.0.1:${directPort}/ready`, 90_000, direct.exited);
  const accountsUrl = `http://127.0.0.1:${await findWorkerdPort(direct.child, "accounts", directPort)}`;
  log(`accounts worker on workerd's own port: ${accountsUrl}`);
  const hopUrl = await hop.ready();

  const serviceToken = await provisionServiceToken(stack.url, stack.databases.urls.auth ?? "", ["accounts:operate"]);
  const { hot, spread } = await openAccounts(serviceToken, directPort);
  const files: Record<Scenario, string> = {
    "hot account": join(work, "hot.txt"),
    "1,000 accounts": join(work, "spread.txt"),
  };
  writeFileSync(files["hot account"], `${hot}\n`);
  writeFileSync(files["1,000 accounts"], `${spread.join("\n")}\n`);

  const rows: BenchRow[] = [];
  if (telemetryAlternate) {
    const withTelemetry = await alternateTelemetry(files, serviceToken, rows);
    await reportedErrors();
    await checkBalances(withTelemetry.hot, withTelemetry.spread, rows);
    await checkBalances(hot, spread, rows);
    console.log(`accounts benchmark, telemetry off and on, one worker at a time: ${seconds} s per run`);
    console.table(printable(rows));
  } else if (directOn) {
    await waitForOk(`http://127.0.0.1:${directOn.port}/ready`, 90_000, directOn.exited);
    const onUrl = `http://127.0.0.1:${await findWorkerdPort(directOn.child, "accounts", directOn.port)}`;
    const own = await openAccounts(serviceToken, directOn.port);
    const onFiles: Record<Scenario, string> = {
      "hot account": join(work, "hot-on.txt"),
      "1,000 accounts": join(work, "spread-on.txt"),
    };
    writeFileSync(onFiles["hot account"], `${own.hot}\n`);
    writeFileSync(onFiles["1,000 accounts"], `${own.spread.join("\n")}\n`);
    const first = { url: accountsUrl, files };
    const second = { url: onUrl, files: onFiles };
    await compareTelemetry(swap ? { off: second, on: first } : { off: first, on: second }, serviceToken, rows);
    await checkBalances(own.hot, own.spread, rows);
    await checkBalances(hot, spread, rows);
    console.log(`accounts benchmark, telemetry off and on side by side: ${seconds} s per run, alternating`);
    console.table(printable(rows));
  } else {
    for (const scenario of scenarios) {
      await wrk(accountsUrl, { token: serviceToken, accounts: files[scenario], mode: "debit", run: "warmup" }, 8, 3);
      for (const concurrency of concurrencyLevels) {
        for (const mode of ["debit", "noop"] as const) {
          await new Promise((resolve) => setTimeout(resolve, 600)); // let pg_stat_database catch up
          const before = await commits();
          const run = `r${Date.now().toString(36)}`;
          const result = await wrk(
            accountsUrl,
            { token: serviceToken, accounts: files[scenario], mode, run },
            concurrency,
            seconds,
          );
          await new Promise((resolve) => setTimeout(resolve, 600));
          const after = await commits();
          const ok = result.requests - result.status;
          rows.push({
            design: mode === "debit" ? "AccountDO" : "no-op (same path)",
            scenario,
            concurrency,
            operations: ok,
            opsPerSecond: Math.round(ok / (result.durationUs / 1e6)),
            p50: result.p50 / 1000,
            p99: result.p99 / 1000,
            commitsPerOp: mode === "debit" ? (after - before) / ok : Number.NaN,
            errors: wrkErrors(result),
          });
          log(`${mode} ${scenario} c=${concurrency}: ${rows.at(-1)?.opsPerSecond} ops/s`);
        }
      }
    }
    for (const concurrency of concurrencyLevels) {
      const result = await wrk(`${hopUrl}/hop/hot`, undefined, concurrency, seconds);
      rows.push({
        design: "bare DO round trip",
        scenario: "hot account",
        concurrency,
        operations: result.requests - result.status,
        opsPerSecond: Math.round((result.requests - result.status) / (result.durationUs / 1e6)),
        p50: result.p50 / 1000,
        p99: result.p99 / 1000,
        commitsPerOp: Number.NaN,
        errors: wrkErrors(result),
      });
    }
    await checkBalances(hot, spread, rows);

    rows.push(...classicRows);

    console.log(
      `accounts benchmark: PostgreSQL at ${new URL(serverUrl).host}, ${seconds} s per run, wrk on loopback, ` +
        `AccountDO database behind PgBouncer (transaction mode, 20 server connections)`,
    );
    if (!classicConcurrency.includes(128)) {
      console.log(`classic: concurrency 128 needs max_connections > 133; ran ${classicConcurrency.at(-1)}`);
    }
    console.table(printable(rows));
    report(rows);
  }
} finally {
  await stopAll();
}

async function commits(): Promise<number> {
  const [row] = await stats<{ n: string }[]>`
    select xact_commit as n from pg_stat_database where datname = current_database()`;
  return Number(row?.n ?? 0);
}

/** wrk against `url`; with `env`, through operations.lua (else plain GETs). */
function wrk(
  url: string,
  env: { token: string; accounts: string; mode: "debit" | "noop"; run: string } | undefined,
  concurrency: number,
  duration: number,
): Promise<WrkResult> {
  return runWrk(url, {
    concurrency,
    seconds: duration,
    ...(env
      ? {
          script: luaScript,
          env: { BENCH_TOKEN: env.token, BENCH_ACCOUNTS: env.accounts, BENCH_MODE: env.mode, BENCH_RUN: env.run },
        }
      : {}),
  });
}

/** One customer opens the hot account and 1,000 more through the gateway; each is funded. */
async function openAccounts(serviceToken: string, port: number): Promise<{ hot: string; spread: string[] }> {
  const customer = await customerSession(stack.url, "customer");
  const ids: string[] = [];
  let next = 0;
  const opener = async () => {
    while (next < spreadCount + 1) {
      next += 1;
      const response = await post(
        `${stack.url}/v1/accounts`,
        { currency: "EUR" },
        { authorization: `Bearer ${customer}`, "idempotency-key": crypto.randomUUID() },
      );
      if (response.status !== 201) throw new Error(`open failed: ${response.status} ${await response.text()}`);
      ids.push(((await response.json()) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, opener));
  let funded = 0;
  const funder = async () => {
    while (funded < ids.length) {
      const id = ids[funded++] ?? "";
      const response = await post(
        `http://127.0.0.1:${port}/internal/v1/accounts/${id}/operations`,
        { kind: "credit", operationId: "bench-funding", amount: "1000000000000", currency: "EUR" },
        { authorization: `Bearer ${serviceToken}` },
      );
      if (!response.ok) throw new Error(`funding failed: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 16 }, funder));
  log(`opened and funded ${ids.length} accounts`);
  const [hot = "", ...spread] = ids;
  return { hot, spread };
}

/**
 * Telemetry off against on, in one run: per scenario and level, debits on the worker without
 * telemetry and on the one with it (each its own accounts), alternating off, on, on, off so
 * that the machine's drift falls on both alike; each row is the mean of its two runs.
 */
async function compareTelemetry(
  workers: Record<"off" | "on", { url: string; files: Record<Scenario, string> }>,
  token: string,
  rows: BenchRow[],
): Promise<void> {
  for (const scenario of scenarios) {
    for (const side of ["off", "on"] as const) {
      const { url, files } = workers[side];
      await wrk(url, { token, accounts: files[scenario], mode: "debit", run: `warmup-${side}` }, 8, 3);
    }
    for (const concurrency of concurrencyLevels) {
      const runs: Record<"off" | "on", WrkResult[]> = { off: [], on: [] };
      for (const side of ["off", "on", "on", "off"] as const) {
        const { url, files } = workers[side];
        const run = `r${Date.now().toString(36)}`;
        runs[side].push(await wrk(url, { token, accounts: files[scenario], mode: "debit", run }, concurrency, seconds));
      }
      pushTelemetryRows(rows, scenario, concurrency, runs);
    }
  }
}

/**
 * One row per arm (the mean of its runs) for a scenario and level, and the on / off ratio of
 * their throughput, for both ways of comparing telemetry off and on.
 */
function pushTelemetryRows(
  rows: BenchRow[],
  scenario: Scenario,
  concurrency: number,
  runs: Record<"off" | "on", WrkResult[]>,
): void {
  const mean = (results: WrkResult[], pick: (result: WrkResult) => number) =>
    results.reduce((sum, result) => sum + pick(result), 0) / results.length;
  for (const side of ["off", "on"] as const) {
    const results = runs[side];
    rows.push({
      design: `AccountDO, telemetry ${side}`,
      scenario,
      concurrency,
      operations: results.reduce((sum, result) => sum + result.requests - result.status, 0),
      opsPerSecond: Math.round(
        mean(results, (result) => (result.requests - result.status) / (result.durationUs / 1e6)),
      ),
      p50: mean(results, (result) => result.p50) / 1000,
      p99: mean(results, (result) => result.p99) / 1000,
      commitsPerOp: Number.NaN,
      errors: results.reduce((sum, result) => sum + wrkErrors(result), 0),
    });
  }
  const [off, on] = rows.slice(-2).map((row) => row.opsPerSecond);
  console.log(`${scenario} c=${concurrency}: telemetry on / off = ${((on ?? 0) / (off ?? 1)).toFixed(3)}`);
}

/**
 * Telemetry off against on with one measured worker alive at a time, so neither arm shares the
 * two cores with an idle second workerd or takes the second place of a side-by-side pair (which
 * is slower by itself): off (the worker already running), then a worker with telemetry for two
 * runs, then off again on a new wrangler over the same persisted state. Each row is the mean
 * of its arm's two runs; the machine's drift falls on both alike.
 */
async function alternateTelemetry(
  offFiles: Record<Scenario, string>,
  token: string,
  rows: BenchRow[],
): Promise<{ hot: string; spread: string[] }> {
  type Side = "off" | "on";
  let onAccounts = { hot: "", spread: [] as string[] };
  const files: Partial<Record<Side, Record<Scenario, string>>> = { off: offFiles };
  const runs = new Map<string, WrkResult[]>();
  /** workerd CPU milliseconds per operation of each run (from /proc): steadier than throughput. */
  const cpu = new Map<string, number[]>();
  let running: Side = "off";
  let measured = 0;
  for (const [side, repeats] of [
    ["off", 1],
    ["on", 2],
    ["off", 1],
  ] as const) {
    if (side !== running) {
      await direct.stop();
      direct = await spawnDirect(side === "on" ? "direct-on" : "direct", side === "on");
      running = side;
    }
    await waitForOk(`http://127.0.0.1:${direct.port}/ready`, 90_000, direct.exited);
    const url = `http://127.0.0.1:${await findWorkerdPort(direct.child, "accounts", direct.port)}`;
    let own = files[side];
    if (!own) {
      const opened = await openAccounts(token, direct.port);
      onAccounts = opened;
      own = { "hot account": join(work, `hot-${side}.txt`), "1,000 accounts": join(work, `spread-${side}.txt`) };
      writeFileSync(own["hot account"], `${opened.hot}\n`);
      writeFileSync(own["1,000 accounts"], `${opened.spread.join("\n")}\n`);
      files[side] = own;
    }
    log(`telemetry ${side}: ${url}`);
    for (const scenario of scenarios) {
      await wrk(url, { token, accounts: own[scenario], mode: "debit", run: `warmup-${Date.now().toString(36)}` }, 8, 3);
    }
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const scenario of scenarios) {
        for (const concurrency of concurrencyLevels) {
          const run = `r${Date.now().toString(36)}`;
          const key = `${side}\n${scenario}\n${concurrency}`;
          const cpuBefore = workerdCpuMs(direct.child.pid ?? 0);
          const profile = profileFolder
            ? await startProfile(await findWorkerdInspector(direct.child, "edgebank-accounts"))
            : undefined;
          const result = await wrk(url, { token, accounts: own[scenario], mode: "debit", run }, concurrency, seconds);
          const ok = result.requests - result.status;
          if (profileFolder && profile) {
            reportProfile(profileFolder, `${++measured}-${side}-${scenario}-c${concurrency}`, await profile.stop(), ok);
          }
          cpu.set(key, [...(cpu.get(key) ?? []), (workerdCpuMs(direct.child.pid ?? 0) - cpuBefore) / Math.max(ok, 1)]);
          runs.set(key, [...(runs.get(key) ?? []), result]);
          log(
            `${side} ${scenario} c=${concurrency}: ${Math.round((result.requests - result.status) / (result.durationUs / 1e6))} ops/s`,
          );
        }
      }
    }
  }
  for (const scenario of scenarios) {
    for (const concurrency of concurrencyLevels) {
      const of = (side: Side) => runs.get(`${side}\n${scenario}\n${concurrency}`) ?? [];
      pushTelemetryRows(rows, scenario, concurrency, { off: of("off"), on: of("on") });
      const cpuOf = (side: Side) => cpu.get(`${side}\n${scenario}\n${concurrency}`) ?? [];
      const cpuMean = (side: Side) => cpuOf(side).reduce((sum, ms) => sum + ms, 0) / Math.max(cpuOf(side).length, 1);
      console.log(
        `${scenario} c=${concurrency}: workerd CPU per operation, off ${cpuOf("off")
          .map((ms) => ms.toFixed(3))
          .join(" / ")} ms, ` +
          `on ${cpuOf("on")
            .map((ms) => ms.toFixed(3))
            .join(" / ")} ms: on / off = ${(cpuMean("on") / cpuMean("off")).toFixed(3)}`,
      );
    }
  }
  return onAccounts;
}

/**
 * What the Workers reported to the development Sentry sink during the run: none is expected on
 * this path, and every report is an envelope sent and parsed on the same two cores.
 */
async function reportedErrors(): Promise<void> {
  const dsn = new URL(stack.sentryDsn);
  try {
    const response = await fetch(`${dsn.protocol}//${dsn.host}/events`);
    const { events } = (await response.json()) as {
      events: Array<{ exception?: { values?: Array<{ value?: string }> } }>;
    };
    const messages = new Map<string, number>();
    for (const event of events) {
      const message = event.exception?.values?.[0]?.value ?? "(no exception)";
      messages.set(message, (messages.get(message) ?? 0) + 1);
    }
    log(`errors reported to Sentry during the run: ${events.length}`);
    for (const [message, count] of messages) log(`  ${count} × ${message.slice(0, 160)}`);
  } catch (error) {
    log(`the Sentry sink could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * After the runs, the books must agree: every account's balance in PostgreSQL equals its
 * funding minus its journaled debits, and the journal holds one row per successful debit.
 */
async function checkBalances(hot: string, spread: string[], rows: BenchRow[]): Promise<void> {
  const [row] = await stats<{ mismatched: string; debits: string }[]>`
    with journal as (
      select account_id, count(*) filter (where kind = 'debit') as debits,
             sum(case kind when 'credit' then amount when 'debit' then -amount else 0 end) as net
      from accounts.operations where account_id = any(${[hot, ...spread]}) and status = 'applied'
      group by account_id)
    select count(*) filter (where a.posted_balance <> j.net) as mismatched, coalesce(sum(j.debits), 0) as debits
    from accounts.accounts a join journal j on j.account_id = a.id`;
  const answered = rows.filter((r) => r.design.startsWith("AccountDO")).reduce((sum, r) => sum + r.operations, 0);
  log(`books: ${row?.mismatched} accounts off; ${row?.debits} journaled debits, ${answered} answered in measured runs`);
  if (Number(row?.mismatched) !== 0) throw new Error("account balances disagree with their journals");
}

function report(rows: BenchRow[]): void {
  const find = (design: string, scenario: Scenario, concurrency: number) =>
    rows.find((r) => r.design.startsWith(design) && r.scenario === scenario && r.concurrency === concurrency);
  const classicTop = Math.max(...rows.filter((r) => r.design.startsWith("classic")).map((r) => r.concurrency));
  const ratio = (a?: BenchRow, b?: BenchRow) => (a && b ? a.opsPerSecond / b.opsPerSecond : Number.NaN);
  const checks = [
    [
      "hot account, c=32: AccountDO / classic ≥ 1.0",
      ratio(find("AccountDO", "hot account", 32), find("classic", "hot account", 32)),
      1.0,
    ],
    [
      `hot account, c=128: AccountDO / classic (c=${classicTop}) ≥ 1.5`,
      ratio(find("AccountDO", "hot account", 128), find("classic", "hot account", classicTop)),
      1.5,
    ],
    [
      "1,000 accounts, c=128: AccountDO / no-op ≥ 0.3",
      ratio(find("AccountDO", "1,000 accounts", 128), find("no-op", "1,000 accounts", 128)),
      0.3,
    ],
  ] as const;
  for (const [label, value, target] of checks) {
    console.log(`${value >= target ? "met   " : "missed"} ${label}: ${value.toFixed(2)}`);
  }
  const commitsHot = find("AccountDO", "hot account", 32)?.commitsPerOp ?? Number.NaN;
  console.log(
    `${commitsHot < 0.25 ? "met   " : "missed"} hot account, c=32: commits/op < 0.25: ${commitsHot.toFixed(3)}`,
  );
  const errors = rows.filter((r) => r.design === "AccountDO").reduce((sum, r) => sum + r.errors, 0);
  console.log(`${errors === 0 ? "met   " : "missed"} AccountDO runs without errors: ${errors}`);
}
