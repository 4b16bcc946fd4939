/**
 * The system a chaos run attacks: the whole stack of `npm run dev` on a PostgreSQL server
 * behind PgBouncer, with a Redis server and a Kafka REST broker, each of which the nemesis may
 * stop, restart, slow or cut. So that it may, the run owns every one of them: a PostgreSQL
 * cluster of its own (initdb into a temporary folder, its own port), its own redis-server, its
 * own broker. Nothing another process on this machine uses is touched. Loopback only.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { type KafkaRestServer, startKafkaRestServer } from "../dev/kafka-rest/server.ts";
import { freePort } from "../dev/stack/ports.ts";
import { newKek, type RunningStack, startStack } from "../dev/stack/stack.ts";

export interface ChaosEnvironment {
  /** The gateway. */
  url: string;
  operator: { email: string; password: string };
  auditor: { email: string; password: string };
  postgres: PostgresServer;
  redis: RedisServer;
  broker: Broker;
  stack: RunningStack;
  /** Stops everything and removes every file it made (unless `keep`). */
  stop(options?: { keep?: boolean }): Promise<void>;
  /** Where its state is (the PostgreSQL cluster, the broker's journal, wrangler's state). */
  dir: string;
}

/** A PostgreSQL cluster of the run's own. */
export interface PostgresServer {
  url: string;
  /** Crashes the server (immediate shutdown: no checkpoint, crash recovery at start) and starts it again. */
  crashRestart(): Promise<void>;
  /** Ends every client's server connection (pg_terminate_backend), as a failover or an admin would. */
  terminateConnections(): Promise<number>;
  stop(): Promise<void>;
}

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** The Kafka REST broker on a fixed port and journal, so it can stop and come back as it was. */
export interface Broker {
  url: string;
  readonly server: KafkaRestServer | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a PostgreSQL program as the postgres user (it refuses root), or as us when we are not root. */
function pgCommand(bin: string, args: string[]) {
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? "runuser" : bin;
  const full = asRoot ? ["-u", "postgres", "--", bin, ...args] : args;
  return { command, args: full };
}

function postgresBin(program: string): string {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => existsSync(join(root, name, "bin", program)))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], "bin", program);
  }
  return program; // on PATH
}

function run(bin: string, args: string[]): void {
  const { command, args: full } = pgCommand(bin, args);
  const result = spawnSync(command, full, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${bin} ${args.join(" ")}: ${result.stderr || result.stdout}`);
}

export async function startPostgres(dir: string): Promise<PostgresServer> {
  const data = join(dir, "pgdata");
  mkdirSync(data, { recursive: true });
  if (process.getuid?.() === 0) {
    const ids = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gids = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    chownSync(dir, Number(ids.stdout), Number(gids.stdout));
    chownSync(data, Number(ids.stdout), Number(gids.stdout));
  }
  run(postgresBin("initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // fsync off: the nemesis crashes the server process, never the machine, and the operating
  // system keeps what was written; it saves the two cores a great deal.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c full_page_writes=off`;
  const ctl = (args: string[]) => run(postgresBin("pg_ctl"), ["-D", data, "-s", ...args]);
  const start = async () => {
    ctl(["-l", join(dir, "postgres.log"), "-o", options, "-w", "start"]);
    for (let attempt = 0; attempt < 100; attempt++) {
      const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 2 });
      try {
        await sql`select 1`;
        return;
      } catch {
        await wait(100);
      } finally {
        await sql.end({ timeout: 1 });
      }
    }
    throw new Error(`PostgreSQL on ${port} did not start`);
  };
  await start();
  return {
    url,
    async crashRestart() {
      ctl(["-m", "immediate", "stop"]);
      await start();
    },
    async terminateConnections() {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`
          select pg_terminate_backend(pid) as ended from pg_stat_activity
          where backend_type = 'client backend' and pid <> pg_backend_pid()`;
        return rows.filter((row) => row.ended).length;
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
    async stop() {
      try {
        ctl(["-m", "fast", "stop"]);
      } catch {
        // not running
      }
    },
  };
}

export async function startRedis(dir: string): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: "ignore" },
    );
    for (let attempt = 0; attempt < 100; attempt++) {
      if (spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).stdout.trim() === "PONG") return;
      await wait(50);
    }
    throw new Error(`redis-server on ${port} did not start`);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once("exit", resolve));
      running.kill("SIGKILL");
      await exited;
    },
  };
}

export async function startBroker(dir: string, random: () => number): Promise<Broker> {
  const port = await freePort();
  const journal = join(dir, "kafka.jsonl");
  let server: KafkaRestServer | undefined = await startKafkaRestServer({ journal, port, random });
  return {
    url: `http://127.0.0.1:${port}`,
    get server() {
      return server;
    },
    async stop() {
      await server?.close();
      server = undefined;
    },
    async start() {
      server ??= await startKafkaRestServer({ journal, port, random });
    },
  };
}

export async function startEnvironment(options: {
  random: () => number;
  /**
   * Deliberately broken builds to run (the test builds with `EDGEBANK_BROKEN`, see
   * @edgebank/durable-objects/flow/testing): the checker must catch each.
   */
  broken?: readonly string[];
  /** wrangler's output to this process's (debugging). */
  verbose?: boolean;
  log: (line: string) => void;
}): Promise<ChaosEnvironment> {
  const dir = mkdtempSync(join(tmpdir(), "edgebank-chaos-"));
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const pg = await startPostgres(dir);
    stops.push(() => pg.stop());
    options.log(`PostgreSQL of the run's own on ${new URL(pg.url).host}`);
    const redis = await startRedis(dir);
    stops.push(() => redis.stop());
    options.log(`Redis of the run's own on ${new URL(redis.url).host}`);
    const broker = await startBroker(dir, options.random);
    stops.push(() => broker.stop());
    options.log(`Kafka REST broker of the run's own on ${broker.url}`);
    const operator = { email: "operator@edgebank.dev", password: newKek(), role: "operator" as const };
    const auditor = { email: "auditor@edgebank.dev", password: newKek(), role: "auditor" as const };
    const stack = await startStack({
      port: await freePort(),
      databaseUrl: pg.url,
      redisUrl: redis.url,
      kafkaRestUrl: broker.url,
      databasePrefix: "edgebank_chaos",
      freshDatabases: true,
      persistDir: join(dir, "wrangler"),
      dbDriver: "hyperdrive",
      signingKeyKek: newKek(),
      ledgerCheckpointKey: newKek(),
      staff: [operator, auditor],
      output: options.verbose ? "inherit" : "ignore",
      // The limits stay on (Redis is among what the nemesis takes away) but well above what the
      // clients ask: the run is about correctness, and the operator reads every book at the end.
      gatewayVars: { LOG_LEVEL: "warn", RATE_LIMIT_API_PER_MINUTE: "100000" },
      serviceVars: { LOG_LEVEL: "warn" },
      ...(options.broken?.length
        ? { testFaults: true, testBuildVars: { EDGEBANK_BROKEN: options.broken.join(",") } }
        : {}),
      log: options.log,
    });
    stops.push(() => stack.stop());
    await stack.waitUntilReady(120_000);
    options.log(`stack ready: ${stack.url}`);
    return {
      url: stack.url,
      operator,
      auditor,
      postgres: pg,
      redis,
      broker,
      stack,
      dir,
      async stop({ keep = false } = {}) {
        await stopAll();
        if (!keep) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
