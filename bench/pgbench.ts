import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";

export interface PgbenchResult {
  /** Per-transaction latencies from pgbench's log, ms, ascending. */
  latencies: number[];
  /** Transactions per second, without the initial connection time. */
  tps: number;
  /** Failed transactions pgbench reported. */
  failed: number;
}

/**
 * One pgbench run of `script` against `url` (prepared statements, at most two threads: the
 * machine has two cores and the server needs them too), with its per-transaction log kept in a
 * fresh folder under `workDir` so every transaction's latency can be read back.
 */
export function runPgbench(options: {
  url: string;
  script: string;
  concurrency: number;
  seconds: number;
  workDir: string;
}): PgbenchResult {
  const logDir = mkdtempSync(join(options.workDir, "log-"));
  const run = spawnSync(
    "pgbench",
    [
      "-n",
      "-M",
      "prepared",
      "-c",
      String(options.concurrency),
      "-j",
      String(Math.min(options.concurrency, 2)),
      "-T",
      String(options.seconds),
      "-f",
      options.script,
      "-l",
      "--log-prefix",
      join(logDir, "tx"),
      options.url,
    ],
    { encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`pgbench failed: ${run.stderr}`);
  const latencies = readdirSync(logDir)
    .flatMap((file) => readFileSync(join(logDir, file), "utf8").trim().split("\n"))
    .map((line) => Number(line.split(" ")[2]) / 1000) // microseconds → ms
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);
  return {
    latencies,
    tps: Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout)?.[1] ?? Number.NaN),
    failed: Number(/number of failed transactions: (\d+)/.exec(run.stdout)?.[1] ?? 0),
  };
}

/**
 * A database of its own for one benchmark on the server at `serverUrl`, created empty (dropped
 * first if a crashed run left it); `drop()` removes it again.
 */
export async function scratchDatabase(serverUrl: URL, name: string): Promise<{ url: URL; drop(): Promise<void> }> {
  const admin = postgres(serverUrl.toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url,
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
