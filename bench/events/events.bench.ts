/**
 * npm run bench:events
 *
 * Commit-to-consumer latency of edgebank's events, and what the relay sustains, on the real
 * pipeline: account credits through the accounts service (service token, one RPC to each
 * account's AccountDO, group commit to PostgreSQL with the AccountCredited event in the same
 * transaction), the AccountDO's relay right after the commit (`ctx.waitUntil`), the Kafka REST
 * produce to the development broker, and a Kafka REST v2 consumer group reading edgebank.accounts
 * with long polls, as every edgebank consumer does.
 *
 * Credits are offered open-loop at fixed rates (events/s) for BENCH_SECONDS each, spread over 100
 * accounts, sent to workerd's own port of the accounts worker (on a wrangler of its own, its
 * database behind PgBouncer as Hyperdrive pools it). Latency = the consumer's receipt
 * minus the event's `time` (the outbox row's insert, in the commit's transaction), both on this
 * machine's clock. Afterwards every event must have arrived, once.
 * Needs pgbouncer (Debian package).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { startPgBouncer } from "../../dev/postgres/pgbouncer.ts";
import { freePort } from "../../dev/stack/ports.ts";
import { newKek, spawnWrangler, startStack, waitForOk } from "../../dev/stack/stack.ts";
import { findWorkerdPort } from "../../dev/stack/workerd-port.ts";
import { parseEvent } from "../../shared/events/src/index.ts";
import { KafkaRestClient } from "../../shared/kafka/src/index.ts";
import { stopOnce } from "../lifecycle.ts";
import { customerSession, post, provisionServiceToken } from "../session.ts";

const serverUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rates = (process.env.BENCH_RATES ?? "50,100,200,300").split(",").map(Number);
const accountCount = 100;
if (spawnSync("which", ["pgbouncer"]).status !== 0)
  throw new Error("pgbouncer is needed (Debian: apt-get install pgbouncer)");

const log = (line: string) => console.error(`[bench] ${line}`);
const work = mkdtempSync(join(tmpdir(), "edgebank-bench-events-"));
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
  output: "ignore",
  gatewayVars: { RATE_LIMIT_API_PER_MINUTE: "100000", LOG_LEVEL: "warn", REDIS_KEY_PREFIX: `bench-${Date.now()}` },
  // No access log line per request (local dev ships every console line to wrangler).
  serviceVars: { LOG_LEVEL: "warn" },
  log,
});
// The accounts worker on a wrangler of its own (the stack's serves only the gateway on a port),
// its database behind PgBouncer as Hyperdrive pools it; its relay publishes to the stack's broker.
const pooler = await startPgBouncer({ upstream: serverUrl, poolSize: 20, maxServerConnections: 20 });
const directPort = await freePort();
const direct = await spawnWrangler({
  configs: ["workers/accounts/wrangler.toml", "workers/auth/wrangler.toml"],
  port: directPort,
  persistDir: join(work, "wrangler-direct"),
  env: {
    ...stack.hyperdriveEnv,
    CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_ACCOUNTS_DB: pooler.url(stack.databases.urls.accounts ?? ""),
  },
  args: ["--var", "DB_PREPARE:false", "--var", "LOG_LEVEL:warn", "--var", `KAFKA_REST_URL:${stack.kafkaRestUrl}`],
  output: "ignore",
});
// Stopped after the run, and on Ctrl-C: nothing is left running.
const stopAll = stopOnce(async () => {
  await direct.stop();
  await pooler.stop();
  await stack.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Row {
  offered: number;
  sent: number;
  failed: number;
  received: number;
  duplicates: number;
  /** Not received within 15 s of the last send, still pending in the outbox (late, not lost). */
  late: number;
  /** Published (not pending) yet never received: lost. */
  lost: number;
  sentPerSecond: number;
  receivedPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

try {
  await stack.waitUntilReady(90_000);
  await waitForOk(`http://127.0.0.1:${directPort}/ready`, 90_000, direct.exited);
  const accountsUrl = `http://127.0.0.1:${await findWorkerdPort(direct.child, "accounts", directPort)}`;
  log(`accounts worker on workerd's own port: ${accountsUrl}`);
  const token = await provisionServiceToken(stack.url, stack.databases.urls.auth ?? "", ["accounts:operate"]);
  const customer = await customerSession(stack.url, "customer");
  const accounts: string[] = [];
  while (accounts.length < accountCount) {
    const opened = await post(
      `${stack.url}/v1/accounts`,
      { currency: "EUR" },
      { authorization: `Bearer ${customer}`, "idempotency-key": crypto.randomUUID() },
    );
    if (opened.status !== 201) throw new Error(`open failed: ${opened.status} ${await opened.text()}`);
    accounts.push(((await opened.json()) as { id: string }).id);
  }
  log(`opened ${accounts.length} accounts`);

  const accountsDb = postgres(stack.databases.urls.accounts ?? "", { max: 1, onnotice: () => {} });
  const kafka = new KafkaRestClient({ url: stack.kafkaRestUrl, produceApi: "v2" });
  const consumer = await kafka.createConsumer(`bench-events-${Date.now()}`, { reset: "latest" });
  await kafka.subscribe(consumer, ["edgebank.accounts"]);
  await kafka.fetchRecords(consumer, { timeoutMs: 0 });
  /** operation id → receipt latencies (ms): more than one is a duplicate. */
  const arrivals = new Map<string, number[]>();
  let consuming = true;
  const reader = (async () => {
    while (consuming) {
      for (const record of await kafka.fetchRecords(consumer, { timeoutMs: 500 })) {
        const received = Date.now();
        const parsed = parseEvent(record.value);
        if (!parsed.ok || parsed.event.type !== "AccountCredited") continue;
        const operationId = (parsed.event.data as { operationId: string }).operationId;
        if (!operationId.startsWith("bench-")) continue;
        const seen = arrivals.get(operationId) ?? [];
        seen.push(received - Date.parse(parsed.event.time));
        arrivals.set(operationId, seen);
      }
    }
  })();

  const credit = async (operationId: string, accountId: string) => {
    const response = await fetch(`${accountsUrl}/internal/v1/accounts/${accountId}/operations`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ kind: "credit", operationId, amount: "1", currency: "EUR" }),
    });
    await response.arrayBuffer();
    return response.ok;
  };

  // Warm up every account's object and relay.
  await Promise.all(accounts.map((id, i) => credit(`warmup-${i}`, id)));

  const rows: Row[] = [];
  for (const rate of rates) {
    const run = `bench-${rate}-${Date.now().toString(36)}`;
    const total = rate * seconds;
    const ids: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let failed = 0;
    const started = Date.now();
    for (let i = 0; i < total; i++) {
      // Open loop: request i leaves at its scheduled time, whatever the earlier ones are doing.
      const due = started + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const operationId = `${run}-${i}`;
      ids.push(operationId);
      const request: Promise<void> = credit(operationId, accounts[i % accounts.length] ?? "").then(
        (ok) => {
          if (!ok) failed += 1;
          inFlight.delete(request);
        },
        () => {
          failed += 1;
          inFlight.delete(request);
        },
      );
      inFlight.add(request);
    }
    await Promise.all(inFlight);
    const sendSeconds = (Date.now() - started) / 1000;
    const want = new Set(ids);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && [...want].some((id) => !arrivals.has(id))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const latencies = ids.flatMap((id) => arrivals.get(id)?.slice(0, 1) ?? []).sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
    const notArrived = ids.filter((id) => !arrivals.has(id));
    const [pending] = await accountsDb<{ n: number }[]>`
      select count(*)::int as n from accounts.outbox
       where published_at is null and payload->>'operationId' = any(${notArrived})`;
    rows.push({
      offered: rate,
      sent: total - failed,
      failed,
      received: latencies.length,
      duplicates: ids.reduce((sum, id) => sum + Math.max(0, (arrivals.get(id)?.length ?? 0) - 1), 0),
      late: pending?.n ?? 0,
      lost: notArrived.length - (pending?.n ?? 0) - failed,
      sentPerSecond: Math.round((total - failed) / sendSeconds),
      receivedPerSecond: Math.round(latencies.length / sendSeconds),
      p50: pct(50),
      p95: pct(95),
      p99: pct(99),
      max: latencies.at(-1) ?? Number.NaN,
    });
    log(`offered ${rate}/s: p50 ${pct(50)} ms, p99 ${pct(99)} ms, ${failed} failed`);
  }
  consuming = false;
  await reader;
  await kafka.deleteConsumer(consumer);
  await accountsDb.end();

  console.log(
    `events benchmark: PostgreSQL at ${new URL(serverUrl).host} behind PgBouncer, development Kafka REST broker, ` +
      `${seconds} s per rate, credits over ${accountCount} accounts`,
  );
  console.table(
    rows.map((r) => ({
      "offered ev/s": r.offered,
      "sent ev/s": r.sentPerSecond,
      "received ev/s": r.receivedPerSecond,
      "p50 ms": r.p50,
      "p95 ms": r.p95,
      "p99 ms": r.p99,
      "max ms": r.max,
      failed: r.failed,
      "late (in outbox)": r.late,
      lost: r.lost,
      duplicates: r.duplicates,
    })),
  );
  const at200 = rows.find((r) => r.offered === 200);
  if (at200) {
    const met = at200.p99 < 1_000 && at200.late === 0 && at200.lost === 0 && at200.failed === 0;
    console.log(
      `${met ? "met   " : "missed"} 200 events/s: p99 < 1 s, all delivered: p99 ${at200.p99} ms, ` +
        `${at200.late} late, ${at200.lost} lost`,
    );
  }
} finally {
  await stopAll();
}
