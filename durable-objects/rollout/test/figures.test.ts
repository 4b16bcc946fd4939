import { describe, expect, it } from "vitest";
import { runQuery, type StoredPoint } from "../../../dev/cloudflare-api/analytics-sql.ts";
import { type AnalysisQueries, type Answers, analysisQueries, figuresFrom } from "../src/figures.ts";

/**
 * The analysis's queries, run by the Analytics Engine SQL subset of the development API over
 * data points as the Workers write them (docs/metrics.md).
 */
const now = Date.now();
const dataset = "edgebank_metrics";
const request = (
  version: string,
  route: string,
  ms: number,
  status: number,
  ageMs = 0,
  service = "transfers",
): StoredPoint => ({
  dataset,
  timestamp: now - ageMs,
  index1: "http_request",
  blobs: [service, version, route, "POST", `${Math.floor(status / 100)}xx`],
  doubles: [ms, status],
});
const settled = (metric: string, version: string, status: string, service = "transfers"): StoredPoint => ({
  dataset,
  timestamp: now,
  index1: metric,
  blobs: metric === "refund_settled" ? [service, version, "", status] : [service, version, "p2p", "", status],
  doubles: [1],
});

const points: StoredPoint[] = [
  ...Array.from({ length: 90 }, (_, i) => request("stable", "POST /v1/transfers", 10 + (i % 10), 201)),
  ...Array.from({ length: 8 }, (_, i) => request("canary", "POST /v1/transfers", 300 + i, 201)),
  request("canary", "POST /v1/transfers", 30, 500),
  request("canary", "POST /v1/transfers", 30, 503),
  request("stable", "POST /v1/transfers", 10, 201, 20 * 60_000), // before the window
  request("other", "POST /v1/transfers", 10, 500), // a third version: not in this rollout
  request("stable", "GET /v1/orders", 10, 500, 0, "orders"), // another service
  settled("transfer_settled", "stable", "COMPLETED"),
  settled("transfer_settled", "stable", "FAILED"),
  settled("transfer_settled", "canary", "COMPLETED"),
  settled("payment_settled", "canary", "COMPLETED", "payments"),
  settled("transfer_settled", "canary", "NEEDS_ATTENTION"),
  settled("refund_settled", "v0", "NEEDS_ATTENTION", "payments"),
];

describe("an analysis's figures from the Analytics Engine", () => {
  it("per version: requests, 5xx, per-route percentiles, settled and completed; NEEDS_ATTENTION of every service", () => {
    const query = { dataset, service: "transfers", stableVersionId: "stable", canaryVersionId: "canary", seconds: 300 };
    const queries = analysisQueries(query);
    const answers = Object.fromEntries(
      Object.entries(queries).map(([name, sql]) => [name, runQuery(sql, points).data]),
    ) as Answers;
    const figures = figuresFrom(query, answers);
    expect(figures.stable).toEqual({
      requests: 90,
      serverErrors: 0,
      routes: { "POST /v1/transfers": { requests: 90, p50: 14, p95: 19, p99: 19 } },
      settled: 2,
      completed: 1,
    });
    expect(figures.canary).toMatchObject({ requests: 10, serverErrors: 2, settled: 2, completed: 1 });
    expect(figures.canary.routes["POST /v1/transfers"]).toMatchObject({ requests: 10, p99: 307 });
    // The payment's COMPLETED was the payments service's: the canary of transfers counts its own
    // flows only; NEEDS_ATTENTION counts everyone's.
    expect(figures.needsAttention).toBe(2);
  });

  it("never quotes what it was not given as an identifier", () => {
    const query = { dataset, service: "x' OR 1=1 --", stableVersionId: "a", canaryVersionId: "b", seconds: 60 };
    expect(() => analysisQueries(query)).toThrow(/refusing to quote/);
    const names: (keyof AnalysisQueries)[] = [
      "payments",
      "paymentsAttention",
      "refundsAttention",
      "routes",
      "statuses",
      "transfers",
      "transfersAttention",
    ];
    expect(Object.keys(analysisQueries({ ...query, service: "transfers" })).sort()).toEqual(names);
  });
});
