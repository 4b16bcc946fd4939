import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startCloudflareApi } from "../cloudflare-api/server.ts";
import { startKafkaRestServer } from "../kafka-rest/server.ts";
import { type NeonRelay, startNeonRelay } from "../neon-relay/relay.ts";
import { startDevCollector } from "../otel-collector/server.ts";
import { type DatabaseLayout, prepareDatabases } from "../postgres/databases.ts";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../postgres/embedded.ts";
import { migrateAll } from "../postgres/migrate.ts";
import { type PgBouncer, pgBouncerInstalled, startPgBouncer } from "../postgres/pgbouncer.ts";
import { startSentrySink } from "../sentry-sink/server.ts";
import { allServices, dataServices } from "../services.ts";
import { embeddedBackend, redisBackend } from "../upstash-redis/backend.ts";
import { startUpstashRestServer } from "../upstash-redis/server.ts";
import { cronTriggers, startCronScheduler } from "./cron.ts";
import { writeDevVars } from "./dev-vars.ts";
import { freePort } from "./ports.ts";
import { ensureStaffUser } from "./staff.ts";
import { testBuildConfigs } from "./test-builds.ts";
import { type SecondVersion, secondVersions, type VersionedWorker } from "./versions.ts";
import { findWorkerdPort } from "./workerd-port.ts";

export const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));

export interface StackOptions {
  /** Port of the gateway. */
  port: number;
  /** A PostgreSQL server; unset: embedded PGlite. */
  databaseUrl?: string;
  /** A Redis server behind the Upstash REST endpoint; unset: the embedded in-memory engine. */
  redisUrl?: string;
  /** A Kafka REST endpoint (KAFKA_REST_URL); unset: the development broker of dev/kafka-rest. */
  kafkaRestUrl?: string;
  /**
   * Where every Worker sends its traces (OTEL_EXPORTER_OTLP_ENDPOINT); unset: the development
   * collector of dev/otel-collector.
   */
  otlpEndpoint?: string;
  /** Where the Workers report errors (SENTRY_DSN); unset: the development sink of dev/sentry-sink. */
  sentryDsn?: string;
  /** The API token of the development Cloudflare API; unset: a new one. */
  cloudflareApiToken?: string;
  /** The development broker's journal file; unset: it keeps its log in memory. */
  kafkaJournal?: string;
  /** Database name prefix on a real server (`<prefix>_<service>`). */
  databasePrefix: string;
  /** Drop and recreate the service databases first (throwaway stacks: tests, benchmarks). */
  freshDatabases?: boolean;
  /** Where PGlite keeps its files; unset: in memory. */
  pgliteDir?: string;
  /** Where wrangler keeps local state (Durable Objects, caches). */
  persistDir: string;
  dbDriver: "hyperdrive" | "neon";
  /** The auth service's key-encryption key (SIGNING_KEY_KEK): 32 bytes, base64url. */
  signingKeyKek: string;
  /** The ledger's checkpoint signing key (LEDGER_CHECKPOINT_KEY): 32 bytes, base64url. */
  ledgerCheckpointKey: string;
  /**
   * The key sealing webhook secrets (WEBHOOK_SECRET_KEY): 32 bytes, base64url. Unset: a new one
   * (a throwaway stack; a kept database needs the key its secrets were sealed with).
   */
  webhookSecretKey?: string;
  /** Development staff to create (or appoint) in the auth database. */
  staff?: Array<{ email: string; password: string; role: "operator" | "auditor" }>;
  /** Where the Cloudflare API stand-in keeps the account's Workers between runs (unset: memory only). */
  cloudflareStateFile?: string;
  /** Second versions of Workers beside the first, behind the local traffic router (see versions.ts). */
  versions?: SecondVersion[];
  /** The rollout controller's probe user (a customer), created with the staff; its accounts come once the stack is ready. */
  probeUser?: { email: string; password: string };
  /** Where wrangler's output goes. */
  output: "inherit" | "ignore";
  /**
   * The monitor's credential for GET /health/all (HEALTH_PROBE_TOKEN); unset: a new one.
   * The stack waits for readiness with it.
   */
  healthProbeToken?: string;
  /** Extra vars for the gateway (benchmarks raise its rate limits). */
  gatewayVars?: Record<string, string>;
  /** wrangler's local trace collector (see spawnWrangler); benchmarks turn it off. */
  localObservability?: boolean;
  /** Whether the stack fires each Worker's Cron Triggers on their schedules (default true). */
  crons?: boolean;
  /** Extra variables for every service behind the gateway (benchmarks: quieter logs). */
  serviceVars?: Record<string, string>;
  /**
   * Run the test builds (a Worker's test/faults-entry.ts instead of src/index.ts, where it has
   * one): flows that crash or are refused where a request's X-Test-* headers say. The e2e suites
   * only; never a stack anyone else uses.
   */
  testFaults?: boolean;
  /** Vars of the test builds alone (`EDGEBANK_BROKEN`: deliberately broken builds, see chaos/). */
  testBuildVars?: Record<string, string>;
  log: (line: string) => void;
}

export interface RunningStack {
  url: string;
  databases: DatabaseLayout;
  /** CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_* of every service, to start one on its own. */
  hyperdriveEnv: Record<string, string>;
  /** The Kafka REST endpoint the stack uses (the development broker unless one was given). */
  kafkaRestUrl: string;
  /** The monitor's credential for GET /health/all. */
  healthProbeToken: string;
  /** Where the Workers send traces (the development collector unless an endpoint was given). */
  otlpEndpoint: string;
  /** Where the Workers report errors (the development sink unless a DSN was given). */
  sentryDsn: string;
  /** The development Cloudflare API: its base URL (CLOUDFLARE_API_BASE_URL), account and token. */
  cloudflareApi: { baseUrl: string; accountId: string; token: string };
  /** The Workers running two versions (`versions`), with the ids the API stand-in gave them. */
  versions: VersionedWorker[];
  /** Polls GET /health/all with the monitor's credential until every service is ready. */
  waitUntilReady(timeoutMs: number): Promise<Response>;
  /** wrangler dev (the one running now, after any `restartWorkers`). */
  readonly wrangler: ChildProcess;
  /** PgBouncer in front of the PostgreSQL server, when the stack started one. */
  pooler: PgBouncer | undefined;
  /**
   * Stops wrangler dev and starts it again with the same Workers and state: every isolate and
   * Durable Object is evicted and requests in flight are lost, as when workerd restarts.
   */
  restartWorkers(): Promise<void>;
  /** Stops wrangler (its whole process group), the relay and the embedded database. */
  stop(): Promise<void>;
  /** Resolves with wrangler's exit code when it ends (not when `restartWorkers` stops it). */
  exited: Promise<number>;
}

/** The account id of the development Cloudflare API (32 hex digits, like a real one). */
export const DEV_ACCOUNT_ID = "0123456789abcdef0123456789abcdef";

/** A new random key-encryption key for development (32 bytes, base64url). */
export function newKek(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * A development secret of 32 random bytes kept in `file` (created on first use), so data it
 * protects or signs stays readable across restarts.
 */
export function devSecret(file: string): string {
  if (!existsSync(file)) writeFileSync(file, newKek(), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/** Polls `url` (with `headers`) until it answers 200 or `timeoutMs` passes. */
export async function waitForOk(
  url: string,
  timeoutMs: number,
  exited?: Promise<number>,
  headers: Record<string, string> = {},
): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  void exited?.then(() => {
    ended = true;
  });
  let last = "no answer";
  while (Date.now() < deadline && !ended) {
    try {
      // The body is read inside the attempt: a slow answer on a loaded machine is retried,
      // not aborted half-read by the caller.
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
      const body = await response.text();
      if (response.ok) return new Response(body, { status: response.status, headers: response.headers });
      last = `${response.status} ${body}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    ended ? `wrangler exited before ${url} was ready` : `${url} not ready after ${timeoutMs} ms: ${last}`,
  );
}

/**
 * Starts the whole system on one machine: PostgreSQL (real or embedded), every service's
 * database and migrations, the Neon relay when asked for, and every worker in one
 * `wrangler dev` (the gateway first, so it owns the port), with each service's Hyperdrive
 * binding pointed at its database.
 */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    let embedded: EmbeddedPostgres | undefined;
    if (!options.databaseUrl) {
      if (options.pgliteDir) mkdirSync(options.pgliteDir, { recursive: true });
      embedded = await startEmbeddedPostgres(options.pgliteDir ? { dataDir: options.pgliteDir } : {});
      cleanups.push(() => embedded?.stop() ?? Promise.resolve());
      options.log(
        `embedded PostgreSQL (PGlite) on ${new URL(embedded.url).host}${options.pgliteDir ? `, data in ${options.pgliteDir}` : ", in memory"}`,
      );
    }
    const databases = await prepareDatabases(options.databaseUrl ?? embedded?.url ?? "", {
      prefix: options.databasePrefix,
      embedded: !options.databaseUrl,
      recreate: options.freshDatabases ?? false,
    });
    await migrateAll(databases.urls);
    options.log(`databases migrated (${dataServices.length} services)`);
    for (const user of options.staff ?? []) {
      await ensureStaffUser(databases.urls.auth ?? "", user);
      options.log(`${user.role}: ${user.email} / ${user.password}`);
    }
    if (options.probeUser) await ensureStaffUser(databases.urls.auth ?? "", { ...options.probeUser, role: "customer" });

    let relay: NeonRelay | undefined;
    if (options.dbDriver === "neon") {
      relay = await startNeonRelay();
      cleanups.push(() => relay?.close() ?? Promise.resolve());
      options.log(`Neon WebSocket relay on ${relay.proxy}`);
    }

    let kafkaRestUrl = options.kafkaRestUrl;
    if (!kafkaRestUrl) {
      const broker = await startKafkaRestServer(options.kafkaJournal ? { journal: options.kafkaJournal } : {});
      cleanups.push(() => broker.close());
      kafkaRestUrl = broker.url;
      options.log(
        `Kafka REST broker (development, v3 and v2) on ${broker.url}${options.kafkaJournal ? `, log in ${options.kafkaJournal}` : ", in memory"}`,
      );
    }

    let otlpEndpoint = options.otlpEndpoint;
    if (!otlpEndpoint) {
      const collector = await startDevCollector();
      cleanups.push(() => collector.close());
      otlpEndpoint = collector.url;
      options.log(`OpenTelemetry collector (development, OTLP/HTTP) on ${collector.url}`);
    }

    let sentryDsn = options.sentryDsn;
    if (!sentryDsn) {
      const sink = await startSentrySink();
      cleanups.push(() => sink.close());
      sentryDsn = sink.dsn;
      options.log(`Sentry sink (development, envelope API) on ${sink.url}, events at ${sink.url}/events`);
    }

    // The Cloudflare API stand-in: the Analytics Engine SQL API over what the Workers measure.
    const cloudflareToken = options.cloudflareApiToken ?? randomBytes(24).toString("base64url");
    const cloudflare = await startCloudflareApi({
      accountId: DEV_ACCOUNT_ID,
      token: cloudflareToken,
      ...(options.cloudflareStateFile ? { workersFile: options.cloudflareStateFile } : {}),
    });
    cleanups.push(() => cloudflare.close());
    options.log(
      `Cloudflare API (development: Workers scripts, versions and deployments; Analytics Engine SQL) on ${cloudflare.apiBaseUrl}, account ${DEV_ACCOUNT_ID}`,
    );

    const upstash = await startUpstashRestServer({
      backend: options.redisUrl ? redisBackend(options.redisUrl) : embeddedBackend(),
      token: randomBytes(24).toString("base64url"),
    });
    cleanups.push(() => upstash.close());
    options.log(
      `Upstash-compatible Redis REST endpoint on ${upstash.url} (${options.redisUrl ? "Redis at REDIS_URL" : "embedded in-memory engine"})`,
    );
    // The gateway (wrangler's first worker) takes its values as `--var`s: they belong to this
    // process alone, so stacks started side by side (the e2e files) never swap endpoints or
    // credentials. The services behind it read theirs from `.dev.vars`.
    const healthProbeToken = options.healthProbeToken ?? newKek();
    // The environment's public base URL, locally the gateway's: the token issuer, and the base
    // of every URL discovery and the API document name.
    const publicUrl = `http://127.0.0.1:${options.port}`;
    const gatewayVars: Record<string, string> = {
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      HEALTH_PROBE_TOKEN: healthProbeToken,
      TOKEN_ISSUER: publicUrl,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
      ANALYTICS_ENGINE_SINK_URL: cloudflare.sinkUrl,
      SENTRY_DSN: sentryDsn,
      ...options.gatewayVars,
    };

    // On a PostgreSQL server, the Workers' Hyperdrive bindings go through PgBouncer in
    // transaction mode when it is installed: Hyperdrive pools the same way in production, and
    // without a pooler every request, saga step and AccountDO holds a server connection of
    // its own, so a few dozen concurrent transfers exhaust max_connections.
    let pooler: PgBouncer | undefined;
    if (options.databaseUrl && options.dbDriver === "hyperdrive") {
      if (pgBouncerInstalled()) {
        pooler = await startPgBouncer({ upstream: options.databaseUrl, poolSize: 10, maxServerConnections: 40 });
        cleanups.push(() => pooler?.stop() ?? Promise.resolve());
        options.log(
          "PgBouncer (transaction mode, at most 40 server connections) in front of PostgreSQL, as Hyperdrive",
        );
      } else {
        options.log("pgbouncer is not installed: Workers connect straight to PostgreSQL (max_connections applies)");
      }
    }
    const webhookSecretKey = options.webhookSecretKey ?? newKek();
    const hyperdriveEnv: Record<string, string> = {};
    for (const service of dataServices) {
      const direct = databases.urls[service.name] ?? "";
      const url = pooler ? pooler.url(direct) : direct;
      hyperdriveEnv[`CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_${service.dbBinding}`] = url;
      const removeServiceVars = writeDevVars(repositoryRoot, service.config, {
        DB_DRIVER: options.dbDriver,
        TOKEN_ISSUER: publicUrl,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
        ANALYTICS_ENGINE_SINK_URL: cloudflare.sinkUrl,
        SENTRY_DSN: sentryDsn,
        // PgBouncer 1.18 keeps no prepared statements across transactions: unnamed ones only.
        DB_PREPARE: String(databases.prepare && !pooler),
        ...(relay ? { DATABASE_URL: direct, NEON_WS_PROXY: relay.proxy } : {}),
        ...(service.name === "auth" ? { SIGNING_KEY_KEK: options.signingKeyKek } : {}),
        ...(service.name === "ledger" ? { LEDGER_CHECKPOINT_KEY: options.ledgerCheckpointKey } : {}),
        // Services with an outbox or consumers use the stack's Kafka REST endpoint.
        ...(["transfers", "accounts", "payments", "orders", "inventory", "delivery"].includes(service.name)
          ? { KAFKA_REST_URL: kafkaRestUrl }
          : {}),
        // The rollout controller steers Workers and reads metrics through the API stand-in.
        ...(service.name === "delivery"
          ? {
              CLOUDFLARE_API_BASE_URL: cloudflare.apiBaseUrl,
              CLOUDFLARE_ACCOUNT_ID: DEV_ACCOUNT_ID,
              CLOUDFLARE_API_TOKEN: cloudflareToken,
              ...(options.probeUser
                ? { PROBE_USERNAME: options.probeUser.email, PROBE_PASSWORD: options.probeUser.password }
                : {}),
            }
          : {}),
        // Notifications consume from it, and deliver webhooks to local receivers too.
        ...(service.name === "notifications"
          ? {
              KAFKA_REST_URL: kafkaRestUrl,
              WEBHOOK_SECRET_KEY: webhookSecretKey,
              WEBHOOK_ALLOW_INSECURE: "true",
            }
          : {}),
        ...options.serviceVars,
      });
      cleanups.push(removeServiceVars);
    }

    let configs = allServices.map((service) => service.config);
    if (options.testFaults) {
      const builds = testBuildConfigs(repositoryRoot, allServices, options.testBuildVars);
      cleanups.push(builds.remove);
      configs = builds.configs;
      const faulted = allServices.filter((service, index) => configs[index] !== service.config);
      options.log(`test builds (fault injection): ${faulted.map((service) => service.name).join(", ")}`);
    }
    let versions: VersionedWorker[] = [];
    if (options.versions?.length) {
      const second = secondVersions(repositoryRoot, allServices, configs, options.versions, {
        server: cloudflare,
        accountId: DEV_ACCOUNT_ID,
        token: cloudflareToken,
      });
      cleanups.push(second.remove);
      configs = second.configs;
      versions = second.versions;
      for (const version of versions) {
        options.log(
          `${version.worker}: two versions behind the local traffic router, ${version.stableVersionId} at 100 % ` +
            `and ${version.canaryVersionId} uploaded`,
        );
      }
    }
    const wranglerOptions = {
      configs,
      port: options.port,
      persistDir: options.persistDir,
      env: hyperdriveEnv,
      args: Object.entries(gatewayVars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      output: options.output,
      ...(options.localObservability === false ? { localObservability: false } : {}),
    };
    let workers = await spawnWrangler(wranglerOptions);
    let restarting = false;
    let ended: (code: number) => void = () => {};
    const exited = new Promise<number>((resolve) => {
      ended = resolve;
    });
    const watch = (running: typeof workers) =>
      void running.exited.then((code) => {
        if (!restarting) ended(code);
      });
    watch(workers);
    cleanups.push(() => workers.stop());
    options.log(`wrangler dev started (process group ${workers.child.pid})`);
    const restartWorkers = async () => {
      restarting = true;
      try {
        await workers.stop();
        workers = await spawnWrangler(wranglerOptions);
        watch(workers);
      } finally {
        restarting = false;
      }
      options.log(`wrangler dev restarted (process group ${workers.child.pid})`);
    };

    const url = publicUrl;
    if (options.crons ?? true) {
      // wrangler dev runs no Cron Triggers: the stack fires them, so what production sweeps by
      // cron (outboxes, key rotation, reconciliation, webhook retries) is swept locally too.
      const triggers = cronTriggers(allServices.map((service) => service.config));
      const stopCrons = startCronScheduler({
        entry: async () => `http://127.0.0.1:${await findWorkerdPort(workers.child, "gateway", options.port)}`,
        triggers,
        log: options.log,
      });
      cleanups.push(async () => stopCrons());
      const count = new Set(triggers.map((trigger) => trigger.worker)).size;
      options.log(`Cron Triggers fire on their schedules (${triggers.length} triggers of ${count} workers)`);
    }
    const waitUntilReady = (timeoutMs: number) =>
      waitForOk(`${url}/health/all`, timeoutMs, exited, { authorization: `Bearer ${healthProbeToken}` });
    return {
      url,
      databases,
      hyperdriveEnv,
      kafkaRestUrl,
      healthProbeToken,
      otlpEndpoint,
      sentryDsn,
      cloudflareApi: { baseUrl: cloudflare.apiBaseUrl, accountId: DEV_ACCOUNT_ID, token: cloudflareToken },
      versions,
      waitUntilReady,
      get wrangler() {
        return workers.child;
      },
      pooler,
      restartWorkers,
      exited,
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * Runs `wrangler dev` for the given configs (the first one owns the port) in a process group
 * of its own, so stopping it takes workerd and every helper with it.
 */
export async function spawnWrangler(options: {
  configs: string[];
  port: number;
  persistDir: string;
  env: Record<string, string>;
  output: "inherit" | "ignore";
  /** More `wrangler dev` arguments (e.g. `--var NAME:value` for the first worker). */
  args?: string[];
  /**
   * wrangler's local observability (on unless false): a trace collector attached to every
   * worker for its local explorer. Production has nothing like it, and it costs workerd about
   * three times the CPU of a small request, so benchmarks turn it off.
   */
  localObservability?: boolean;
}): Promise<{ child: ChildProcess; exited: Promise<number>; stop: () => Promise<void> }> {
  const inspectorPort = await freePort();
  const args = [
    "dev",
    ...options.configs.flatMap((config) => ["-c", config]),
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    options.persistDir,
    "--show-interactive-dev-session=false",
    ...(options.args ?? []),
  ];
  const child = spawn(join(repositoryRoot, "node_modules/.bin/wrangler"), args, {
    cwd: repositoryRoot,
    detached: true,
    stdio: ["ignore", options.output, options.output],
    env: {
      ...process.env,
      ...options.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      ...(options.localObservability === false ? { X_LOCAL_OBSERVABILITY: "false" } : {}),
    },
  });
  const exited = new Promise<number>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
  return { child, exited, stop: () => stopProcessGroup(child, exited) };
}

/** SIGTERM to the whole group, SIGKILL after 10 s if anything is left. */
async function stopProcessGroup(child: ChildProcess, exited: Promise<number>): Promise<void> {
  if (child.pid === undefined) return;
  const group = -child.pid;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(group, signal);
      return true;
    } catch {
      return false; // the group is gone already
    }
  };
  if (!signalGroup("SIGTERM")) return;
  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 10_000).unref());
  if ((await Promise.race([exited, timeout])) === "timeout") signalGroup("SIGKILL");
  // wrangler has exited; make sure nothing it started outlives it.
  for (let attempt = 0; attempt < 50 && signalGroup("SIGTERM"); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signalGroup("SIGKILL");
}
