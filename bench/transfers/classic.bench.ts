/**
 * npm run bench:transfers:classic
 *
 * The classic transfer baseline alone (see classic.ts), against DATABASE_URL (default the local
 * server). `npm run bench:transfers` runs it beside the saga in one run.
 */
import { runClassicTransfers } from "./classic.ts";
import { printable, transferLevels } from "./scenarios.ts";

const serverUrl = new URL(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rows = await runClassicTransfers(serverUrl, transferLevels, seconds);
console.log(`classic transfer baseline: PostgreSQL at ${serverUrl.host}, ${seconds} s per run`);
console.table(printable(rows));
