/**
 * npm run chaos: the whole system under a mix of faults, and the books checked afterwards.
 *
 *   npm run chaos -- --seed 7 --ops 500 --faults postgres-crash,redis-down,kafka-down
 *   npm run chaos -- --check <history.jsonl>      check a history written earlier
 *
 *   --seed N          the run's randomness: workload and fault schedule (default: drawn, printed)
 *   --ops M           operations the clients perform (default 500)
 *   --clients C       concurrent client processes (default 4)
 *   --customers K     customers (default 6; every other one with a GBP account too)
 *   --faults LIST     comma-separated fault kinds, `all` or `none` (default all)
 *   --gap A-B         milliseconds between two faults, drawn in [A, B] (default 4000-10000)
 *   --bound S         seconds a client keeps asking a key whose answer is not final (default 180)
 *   --max-seconds S   stops issuing operations after S seconds of workload (default: no limit)
 *   --history FILE    where the history goes (default chaos-<seed>.jsonl in the system's temp folder)
 *   --break LIST      run deliberately broken builds (apply-twice, lost-ledger-entry, dropped-event,
 *                     stale-answer, or all): the run passes only if the checker catches every one
 *   --keep            keep the run's databases and state folder
 *   --verbose         wrangler's output here
 *
 * Exit code 0: no violation; 1: violations (printed with the operations involved, the seed and
 * the fault schedule to replay them); 2: the run could not be made.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { brokenBuildKinds } from "../durable-objects/flow/testing/broken-build.ts";
import { check, summarize, type Violation } from "./checker.ts";
import { startEnvironment } from "./environment.ts";
import { formatHistory, type Operation, parseHistory } from "./history.ts";
import { faultKinds, faultsNamed, runNemesis } from "./nemesis.ts";
import { observe } from "./observe.ts";
import { seeded } from "./random.ts";
import { Recorder, runClients, setUp } from "./workload.ts";

const started = Date.now();
const log = (line: string) => console.log(`[chaos ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);

const { values: args } = parseArgs({
  options: {
    seed: { type: "string" },
    ops: { type: "string", default: "500" },
    clients: { type: "string", default: "4" },
    customers: { type: "string", default: "6" },
    faults: { type: "string", default: "all" },
    gap: { type: "string", default: "4000-10000" },
    bound: { type: "string", default: "180" },
    "max-seconds": { type: "string" },
    history: { type: "string" },
    check: { type: "string" },
    break: { type: "string" },
    keep: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

/** How each broken build shows in the checker's findings: the proof it was caught. */
const caughtBy: Record<(typeof brokenBuildKinds)[number], (violation: Violation) => boolean> = {
  "apply-twice": (v) => v.check === "applied-once" && /with \d+ ledger entries and 2 net credits/.test(v.message),
  "lost-ledger-entry": (v) => v.check === "applied-once" && /ended applied with 0 ledger entries/.test(v.message),
  "dropped-event": (v) => v.check === "events" && /told 0 times, expected 1/.test(v.message),
  "stale-answer": (v) => v.check === "real-outcome" && /still answered 202/.test(v.message),
};

function report(history: Operation[], broken: readonly string[]): number {
  const violations = check(history);
  console.log(summarize(history, violations));
  if (broken.length === 0) return violations.length === 0 ? 0 : 1;
  // A run of broken builds passes when the checker caught every one of them.
  const missed = broken.filter((kind) => !violations.some(caughtBy[kind as keyof typeof caughtBy]));
  for (const kind of broken)
    console.log(`broken build ${kind}: ${missed.includes(kind) ? "NOT CAUGHT" : "caught by the checker"}`);
  return missed.length === 0 ? 0 : 1;
}

if (args.help) {
  console.log(readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]);
  console.log(`fault kinds:\n${faultKinds.map((k) => `  ${k.name.padEnd(18)} ${k.describe}`).join("\n")}`);
  process.exit(0);
}
const broken = args.break === "all" ? [...brokenBuildKinds] : (args.break?.split(",").filter(Boolean) ?? []);
for (const kind of broken)
  if (!(brokenBuildKinds as readonly string[]).includes(kind)) {
    console.error(`unknown broken build ${kind}; known: ${brokenBuildKinds.join(", ")}, all`);
    process.exit(2);
  }
if (args.check) process.exit(report(parseHistory(readFileSync(args.check, "utf8")), broken));

const seed = args.seed !== undefined ? Number(args.seed) : Math.floor(Math.random() * 2 ** 31);
const ops = Number(args.ops);
const kinds = faultsNamed(args.faults);
const [gapMin = 4_000, gapMax = 10_000] = args.gap.split("-").map(Number);
const boundMs = Number(args.bound) * 1000;
const historyFile = args.history ?? join(tmpdir(), `chaos-${seed}.jsonl`);
const replay = `npm run chaos -- --seed ${seed} --ops ${ops} --clients ${args.clients} --customers ${args.customers} --faults ${kinds.map((k) => k.name).join(",") || "none"} --gap ${gapMin}-${gapMax}${broken.length ? ` --break ${broken.join(",")}` : ""}`;
log(
  `seed ${seed}, ${ops} operations, ${args.clients} clients, faults: ${kinds.map((k) => k.name).join(", ") || "none"}`,
);

const random = seeded(seed);
const recorder = new Recorder();
let env: Awaited<ReturnType<typeof startEnvironment>> | undefined;
let code = 2;
// Ctrl-C stops what the run started (its PostgreSQL cluster, Redis, wrangler) and says how far it got.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    log(`${signal}: stopping the run`);
    if (recorder.operations.length > 0) writeFileSync(historyFile, formatHistory(recorder.operations));
    void (env?.stop({ keep: args.keep }) ?? Promise.resolve()).finally(() => process.exit(130));
  });
try {
  env = await startEnvironment({ random: random.fork("broker"), broken, verbose: args.verbose, log });
  const world = await setUp({
    url: env.url,
    seed,
    customers: Number(args.customers),
    operator: env.operator,
    auditor: env.auditor,
    recorder,
    boundMs,
  });
  log(
    `set up: ${world.customers.length} customers, ${world.accountIds.length} accounts, merchant ${world.merchant.merchantId}`,
  );
  const maxSeconds = args["max-seconds"] ? Number(args["max-seconds"]) : undefined;
  let lastLogged = 0;
  const clients = runClients({
    world,
    seed,
    ops,
    clients: Number(args.clients),
    random: random.fork("clients"),
    recorder,
    boundMs,
    ...(maxSeconds ? { until: Date.now() + maxSeconds * 1000 } : {}),
    onProgress: (done) => {
      if (done - lastLogged >= Math.max(50, Math.floor(ops / 20))) {
        lastLogged = done;
        log(`${done} / ${ops} operations`);
      }
    },
  });
  const faults = await runNemesis({
    env,
    kinds,
    random: random.fork("nemesis"),
    recorder,
    done: clients,
    gapMs: [gapMin, gapMax],
    log,
  });
  await clients;
  log(`workload done; faults injected: ${JSON.stringify(faults)}; healing and reading the books`);
  await env.stack.waitUntilReady(120_000);
  const final = await observe(world, recorder, boundMs, log);
  recorder.add({ f: "final", type: "ok", process: 0, time: recorder.time(), value: final });
  writeFileSync(historyFile, formatHistory(recorder.operations));
  log(`history: ${historyFile} (${recorder.operations.length} lines)`);
  code = report(recorder.operations, broken);
  if (code !== 0) {
    const schedule = recorder.operations.flatMap((op) =>
      op.f === "nemesis" && op.value.phase === "start" ? [`${(op.time / 1000).toFixed(1)}s ${op.value.fault}`] : [],
    );
    log(`fault schedule: ${schedule.join(", ") || "none"}`);
    log(`replay: ${replay}`);
  }
} catch (error) {
  log(`the run could not be made: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  if (recorder.operations.length > 0) {
    writeFileSync(historyFile, formatHistory(recorder.operations));
    log(`history so far: ${historyFile}; replay: ${replay}`);
  }
} finally {
  await env?.stop({ keep: args.keep });
  if (args.keep && env) log(`state kept in ${env.dir}`);
}
log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(code);
