/**
 * npm run bench:accounts:classic
 *
 * The classic account-service baseline alone (see classic.ts), against DATABASE_URL (default
 * the local server). `npm run bench:accounts` runs it beside the AccountDO in one run.
 */
import { classicLevels, runClassic } from "./classic.ts";
import { concurrencyLevels, printable } from "./scenarios.ts";

const serverUrl = new URL(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const levels = await classicLevels(serverUrl, concurrencyLevels);

const rows = await runClassic(serverUrl, levels, seconds);
console.log(`classic account service baseline: PostgreSQL at ${serverUrl.host}, ${seconds} s per run`);
if (!levels.includes(128)) console.log(`concurrency 128 needs max_connections > 133; ran ${levels.at(-1)} instead`);
console.table(printable(rows));
