/**
 * The nemesis: faults injected into the running system on a schedule drawn from the seed, each
 * recorded in the history when it starts and when it heals. Every kind is a failure the real
 * platform meets: the database crashing or cutting connections, the pooler restarting, Redis
 * and the Kafka REST broker going away or slowing down, the runtime restarting (every Durable
 * Object evicted, requests in flight lost), an acknowledgement or an offset commit lost.
 */
import type { ChaosEnvironment } from "./environment.ts";
import type { Random } from "./random.ts";
import type { Recorder } from "./workload.ts";

export interface FaultKind {
  name: string;
  describe: string;
  /** Injects the fault; resolves when it has healed (a fault with a duration holds it that long). */
  inject(env: ChaosEnvironment, random: Random): Promise<string | undefined>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A broker fault held for a while, then healed. */
function brokerFault(
  name: string,
  describe: string,
  faults: (random: Random) => { delayMs?: number; lostAcks?: number; lostCommits?: number },
): FaultKind {
  return {
    name,
    describe,
    async inject(env, random) {
      const server = env.broker.server;
      if (!server) return "broker down already";
      const chosen = faults(random);
      server.faults = chosen;
      await sleep(random.int(3_000, 8_000));
      server.faults = {};
      return JSON.stringify(chosen);
    },
  };
}

/** A server stopped for 2–8 s, then started again. */
function outage(
  name: string,
  describe: string,
  server: (env: ChaosEnvironment) => { stop(): Promise<void>; start(): Promise<void> },
): FaultKind {
  return {
    name,
    describe,
    async inject(env, random) {
      await server(env).stop();
      const ms = random.int(2_000, 8_000);
      await sleep(ms);
      await server(env).start();
      return `${ms} ms`;
    },
  };
}

export const faultKinds: FaultKind[] = [
  {
    name: "postgres-crash",
    describe: "PostgreSQL crashes (immediate shutdown, crash recovery) and starts again",
    async inject(env) {
      await env.postgres.crashRestart();
      return undefined;
    },
  },
  {
    name: "postgres-kill",
    describe: "every server connection killed (pg_terminate_backend)",
    async inject(env) {
      return `${await env.postgres.terminateConnections()} connections`;
    },
  },
  {
    name: "pgbouncer-restart",
    describe: "PgBouncer (Hyperdrive's stand-in) restarted: every pooled connection dropped",
    async inject(env) {
      await env.stack.pooler?.restart();
      return env.stack.pooler ? undefined : "no pooler";
    },
  },
  outage(
    "redis-down",
    "Redis stopped for a few seconds (rate limits, edge idempotency cache), then started empty",
    (env) => env.redis,
  ),
  outage(
    "kafka-down",
    "the Kafka REST broker stopped for a few seconds (consumer instances lost), then restarted from its log",
    (env) => env.broker,
  ),
  brokerFault("kafka-slow", "the broker answers every request late", (random) => ({ delayMs: random.int(500, 3_000) })),
  brokerFault(
    "relay-lost-ack",
    "the broker appends a relay's records but the acknowledgement never arrives (as if the relay died between the ack and marking its rows): the records are published again",
    (random) => ({ lostAcks: random.int(3, 8) / 10 }),
  ),
  brokerFault("lost-commit", "a consumer's offset commit is lost: the group reads those records again", (random) => ({
    lostCommits: random.int(5, 10) / 10,
  })),
  {
    name: "workerd-restart",
    describe: "workerd restarted: every isolate and Durable Object evicted, requests in flight lost",
    async inject(env) {
      await env.stack.restartWorkers();
      await env.stack.waitUntilReady(120_000).catch(() => undefined);
      return undefined;
    },
  },
];

export function faultsNamed(list: string): FaultKind[] {
  if (list === "none" || list === "") return [];
  if (list === "all") return faultKinds;
  return list.split(",").map((name) => {
    const kind = faultKinds.find((k) => k.name === name.trim());
    if (!kind) throw new Error(`unknown fault ${name}; known: ${faultKinds.map((k) => k.name).join(", ")}, all, none`);
    return kind;
  });
}

/**
 * Injects faults one after another until `done` resolves: the kinds taken in rounds, each round
 * in an order drawn from the seed, with a pause drawn from the seed between two faults.
 * Returns how many of each kind it injected.
 */
export async function runNemesis(options: {
  env: ChaosEnvironment;
  kinds: FaultKind[];
  random: Random;
  recorder: Recorder;
  done: Promise<void>;
  gapMs: [number, number];
  log: (line: string) => void;
}): Promise<Record<string, number>> {
  const { env, kinds, random, recorder } = options;
  const counts: Record<string, number> = Object.fromEntries(kinds.map((k) => [k.name, 0]));
  if (kinds.length === 0) {
    await options.done;
    return counts;
  }
  let finished = false;
  void options.done.then(() => {
    finished = true;
  });
  let round: FaultKind[] = [];
  while (!finished) {
    await Promise.race([sleep(random.int(...options.gapMs)), options.done]);
    if (finished) break;
    if (round.length === 0) {
      round = [...kinds];
      for (let i = round.length - 1; i > 0; i--) {
        const j = random.int(0, i);
        [round[i], round[j]] = [round[j] as FaultKind, round[i] as FaultKind];
      }
    }
    const kind = round.shift() as FaultKind;
    recorder.add({
      f: "nemesis",
      type: "info",
      process: -1,
      time: recorder.time(),
      value: { fault: kind.name, phase: "start" },
    });
    options.log(`nemesis: ${kind.name}`);
    const detail = await kind.inject(env, random).catch((error: unknown) => `failed: ${String(error)}`);
    counts[kind.name] = (counts[kind.name] ?? 0) + 1;
    recorder.add({
      f: "nemesis",
      type: "info",
      process: -1,
      time: recorder.time(),
      value: { fault: kind.name, phase: "stop", ...(detail ? { detail } : {}) },
    });
  }
  return counts;
}
