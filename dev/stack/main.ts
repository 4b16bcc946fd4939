/**
 * npm run dev: the whole of edgebank on this machine, on embedded defaults.
 *
 *   DATABASE_URL   a PostgreSQL server to use instead of the embedded PGlite
 *   REDIS_URL      a Redis server behind the Upstash REST endpoint instead of the embedded engine
 *   KAFKA_REST_URL a Kafka REST endpoint instead of the development broker (dev/kafka-rest)
 *   OTEL_EXPORTER_OTLP_ENDPOINT   an OTLP/HTTP collector instead of the development one (dev/otel-collector)
 *   SENTRY_DSN     a Sentry project instead of the development sink (dev/sentry-sink)
 *   DB_DRIVER      hyperdrive (default) or neon (the Neon serverless driver over WebSocket)
 *   PORT           the gateway's port (default 8787)
 *   EDGEBANK_STATE_DIR   where local state lives (default .dev: PGlite files, wrangler state)
 *   EDGEBANK_DB_PREFIX   database name prefix on a real server (default edgebank)
 *   EDGEBANK_FRESH_DATABASES=true   drop and recreate them first (throwaway stacks)
 *   EDGEBANK_REDIS_PREFIX   namespace of the gateway's Redis keys (default edgebank)
 *   EDGEBANK_TEST_FAULTS=true   run the Workers' test builds (fault injection; the e2e suites only)
 *
 *   --version <service>[=<fault>|<git ref>]  run a second version of the service's Worker beside
 *                                  the first, behind the local traffic router (docs/delivery.md):
 *                                  built from that commit's tree, or a bad one with a fault
 *                                  (5xx:0.2: a fifth of its transfers fail; latency:300: each
 *                                  transfer takes 300 ms more)
 *
 * Ctrl-C stops everything it started.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { prepareProbeUser } from "./probe-user.ts";
import { devSecret, repositoryRoot, startStack } from "./stack.ts";
import { parseVersionOption } from "./versions.ts";

const log = (line: string) => console.log(`[edgebank] ${line}`);
const { values: args } = parseArgs({ options: { version: { type: "string", multiple: true } } });
const versions = (args.version ?? []).map(parseVersionOption);
const dbDriver = process.env.DB_DRIVER === "neon" ? "neon" : "hyperdrive";
if (process.env.DB_DRIVER && process.env.DB_DRIVER !== dbDriver) {
  console.error(`DB_DRIVER must be hyperdrive or neon, not ${process.env.DB_DRIVER}`);
  process.exit(2);
}

const stateDir = process.env.EDGEBANK_STATE_DIR ?? join(repositoryRoot, ".dev");
mkdirSync(stateDir, { recursive: true });
// Development keys, kept with the data they protect: auth's key-encryption key, the ledger's
// checkpoint signing key and the key sealing webhook secrets.
const signingKeyKek = devSecret(join(stateDir, "signing-key-kek"));
const ledgerCheckpointKey = devSecret(join(stateDir, "ledger-checkpoint-key"));
const webhookSecretKey = devSecret(join(stateDir, "webhook-secret-key"));
// The monitor's credential for GET /health/all (which makes every database work).
const healthProbeTokenFile = join(stateDir, "health-probe-token");
const healthProbeToken = devSecret(healthProbeTokenFile);
// The development Cloudflare API's token (its Analytics Engine SQL API serves the metrics).
const cloudflareApiTokenFile = join(stateDir, "cloudflare-api-token");
const cloudflareApiToken = devSecret(cloudflareApiTokenFile);
// Development staff (printed at start): an operator makes deposits and acts on accounts, an
// auditor verifies the ledger.
const staff = (["operator", "auditor"] as const).map((role) => ({
  role,
  email: `${role}@edgebank.dev`,
  password: devSecret(join(stateDir, `${role}-password`)),
}));
// The rollout controller's probe user: a customer whose two accounts the probes move a cent between.
const probeUser = { email: "probe@edgebank.dev", password: devSecret(join(stateDir, "probe-password")) };
// And the merchant listing the product their order probe orders (never in stock).
const probeShop = { email: "probe-shop@edgebank.dev", password: devSecret(join(stateDir, "probe-shop-password")) };
const stack = await startStack({
  port: Number(process.env.PORT ?? 8787),
  ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { pgliteDir: join(stateDir, "pglite") }),
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  ...(process.env.SENTRY_DSN ? { sentryDsn: process.env.SENTRY_DSN } : {}),
  ...(process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
  ...(process.env.KAFKA_REST_URL
    ? { kafkaRestUrl: process.env.KAFKA_REST_URL }
    : { kafkaJournal: join(stateDir, "kafka", "journal.jsonl") }),
  databasePrefix: process.env.EDGEBANK_DB_PREFIX ?? "edgebank",
  freshDatabases: process.env.EDGEBANK_FRESH_DATABASES === "true",
  persistDir: join(stateDir, "wrangler"),
  dbDriver,
  signingKeyKek,
  ledgerCheckpointKey,
  webhookSecretKey,
  healthProbeToken,
  cloudflareApiToken,
  cloudflareStateFile: join(stateDir, "cloudflare-api", "workers.json"),
  staff,
  probeUser,
  versions,
  ...(process.env.EDGEBANK_REDIS_PREFIX
    ? { gatewayVars: { REDIS_KEY_PREFIX: process.env.EDGEBANK_REDIS_PREFIX } }
    : {}),
  ...(process.env.EDGEBANK_TEST_FAULTS === "true" ? { testFaults: true } : {}),
  output: "inherit",
  log,
});

let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  log("stopping…");
  await stack.stop();
  log("stopped");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
void stack.exited.then((code) => shutdown(code === 0 ? 1 : code));

try {
  const response = await stack.waitUntilReady(60_000);
  const body = (await response.json()) as { services: Record<string, { status: string }> };
  log(`ready: every service reports ready (${Object.keys(body.services).join(", ")})`);
  const operator = staff.find((user) => user.role === "operator");
  if (operator) {
    const probe = await prepareProbeUser(stack.url, probeUser, operator, probeShop);
    log(`rollout probes: ${probeUser.email} with accounts ${probe.accounts.join(", ")}; probe product ${probe.sku}`);
  }
  log(`gateway: ${stack.url}   (try: curl ${stack.url}/health)`);
  log(`web app: ${stack.url}/app/   API description: ${stack.url}/openapi.json`);
  log(`readiness of every service (operators, or the monitor's credential in ${healthProbeTokenFile}):`);
  log(`  curl -H "authorization: Bearer $(cat ${healthProbeTokenFile})" ${stack.url}/health/all`);
  // npm run trace reads the collector from here.
  writeFileSync(join(stateDir, "otel-collector-url"), stack.otlpEndpoint);
  log(`traces: every answer carries x-trace-id; npm run trace -- <traceId> prints one (${stack.otlpEndpoint})`);
  const sqlApi = `${stack.cloudflareApi.baseUrl}/accounts/${stack.cloudflareApi.accountId}/analytics_engine/sql`;
  log("metrics (Analytics Engine SQL, e.g. requests and p95 per route and version over 5 minutes):");
  log(
    `  curl -H "authorization: Bearer $(cat ${cloudflareApiTokenFile})" ${sqlApi} --data "SELECT blob3 AS route, blob2 AS version, count() AS requests, quantileWeighted(0.95, double1, _sample_interval) AS p95_ms FROM edgebank_metrics WHERE index1 = 'http_request' AND timestamp > NOW() - INTERVAL '5' MINUTE GROUP BY route, version"`,
  );
  log("press Ctrl-C to stop");
} catch (error) {
  log(error instanceof Error ? error.message : String(error));
  await shutdown(1);
}
