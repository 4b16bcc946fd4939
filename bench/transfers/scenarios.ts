/** What the transfers benchmark reports: its scenarios, levels and rows. */
import { benchLevels } from "../options.ts";

export const transferScenarios = ["1,000 accounts", "hot source"] as const;
export type TransferScenario = (typeof transferScenarios)[number];

/** The concurrency levels the issue asks for (BENCH_LEVELS narrows them). */
export const transferLevels = benchLevels([1, 8, 32]);

export interface TransferRow {
  design: string;
  scenario: TransferScenario | "–";
  concurrency: number;
  transfers: number;
  perSecond: number;
  /** Milliseconds. */
  p50: number;
  p95: number;
  p99: number;
  /** PostgreSQL commits per transfer, over every database involved; NaN where nothing is written. */
  commitsPerTransfer: number;
  /** workerd CPU milliseconds (user + system, every Worker of the stack) per transfer; NaN where not measured. */
  cpuMsPerTransfer: number;
  errors: number;
}

const round = (value: number, digits: number) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : "–");

/** The rows as console.table shows them. */
export function printable(rows: TransferRow[]) {
  return rows.map((row) => ({
    design: row.design,
    scenario: row.scenario,
    concurrency: row.concurrency,
    requests: row.transfers,
    "per s": row.perSecond,
    "p50 ms": round(row.p50, 1),
    "p95 ms": round(row.p95, 1),
    "p99 ms": round(row.p99, 1),
    "commits/transfer": round(row.commitsPerTransfer, 2),
    "CPU ms/transfer": round(row.cpuMsPerTransfer, 1),
    errors: row.errors,
  }));
}
