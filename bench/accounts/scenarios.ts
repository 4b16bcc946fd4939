/**
 * What the accounts benchmarks share (and the other database benchmarks reuse): the scenarios,
 * the row they report, and its printing.
 */
import { benchLevels } from "../options.ts";

export const scenarios = ["hot account", "1,000 accounts"] as const;
export type Scenario = (typeof scenarios)[number];

/** The concurrency levels the issue asks for (BENCH_LEVELS narrows them). */
export const concurrencyLevels = benchLevels([1, 8, 32, 128]);

export interface BenchRow<S extends string = Scenario> {
  design: string;
  scenario: S;
  concurrency: number;
  operations: number;
  opsPerSecond: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  /** PostgreSQL commits per operation; NaN where nothing is written. */
  commitsPerOp: number;
  /** Failed operations: non-2xx answers and socket errors, or pgbench's failed transactions. */
  errors: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const round = (value: number, digits: number) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : "–");

/** The rows as console.table shows them. */
export function printable(rows: BenchRow<string>[]) {
  return rows.map((row) => ({
    design: row.design,
    scenario: row.scenario,
    concurrency: row.concurrency,
    operations: row.operations,
    "ops/s": row.opsPerSecond,
    "p50 ms": round(row.p50, 2),
    "p99 ms": round(row.p99, 2),
    "commits/op": round(row.commitsPerOp, 3),
    errors: row.errors,
  }));
}
