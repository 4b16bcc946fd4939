import { describe, expect, it } from "vitest";
import { createLogger, recordMetric } from "../src/index.ts";

const context = { service: "ledger", version: "v-test" };

describe("recordMetric", () => {
  it("writes an Analytics Engine data point (labels in key order) and a readable log line", () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger(context, "info", (line: string) => lines.push(JSON.parse(line)));
    const points: unknown[] = [];
    const env = { METRICS: { writeDataPoint: (point: unknown) => points.push(point) } };

    recordMetric(env, log, context, "ledger_reconciliation_mismatches", 2, { trigger: "cron", currency: "EUR" });

    expect(points).toEqual([
      { indexes: ["ledger_reconciliation_mismatches"], blobs: ["ledger", "v-test", "EUR", "cron"], doubles: [2] },
    ]);
    expect(lines).toEqual([
      expect.objectContaining({
        level: "info",
        msg: "metric",
        metric: "ledger_reconciliation_mismatches",
        value: 2,
        trigger: "cron",
        currency: "EUR",
        service: "ledger",
      }),
    ]);
  });

  it("without a dataset bound (local development), still logs the measurement", () => {
    const lines: string[] = [];
    const log = createLogger(context, "info", (line: string) => lines.push(line));
    recordMetric({ METRICS: "not a dataset" }, log, context, "ledger_reconciliation_accounts", 40);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ metric: "ledger_reconciliation_accounts", value: 40 }),
    ]);
  });
});
