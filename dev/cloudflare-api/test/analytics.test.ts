import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryAnalyticsEngine } from "../../../shared/telemetry/src/index.ts";
import { runQuery, type StoredPoint } from "../analytics-sql.ts";
import { type CloudflareApiServer, startCloudflareApi } from "../server.ts";

const now = Date.now();
const request = (route: string, version: string, ms: number, status: number, ageMs = 0): StoredPoint => ({
  dataset: "edgebank_metrics",
  timestamp: now - ageMs,
  index1: "http_request",
  blobs: ["gateway", version, route, "GET", `${Math.floor(status / 100)}xx`],
  doubles: [ms, status],
});

const points: StoredPoint[] = [
  ...[10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((ms) => request("/v1/accounts", "v1", ms, 200)),
  request("/v1/accounts", "v2", 500, 503),
  request("/v1/accounts", "v2", 5, 200),
  request("/v1/transfers", "v1", 7, 201),
  request("/v1/transfers", "v1", 7_000, 201, 10 * 60_000), // outside a 5-minute window
  { dataset: "edgebank_metrics", timestamp: now, index1: "transfer_settled", blobs: ["transfers", "v1"], doubles: [1] },
  { dataset: "other", timestamp: now, index1: "http_request", blobs: [], doubles: [] },
];

describe("the Analytics Engine SQL subset", () => {
  it("counts and takes weighted quantiles per route and version within a time window", () => {
    const result = runQuery(
      `SELECT blob3 AS route, blob2 AS version, count() AS requests, sum(_sample_interval) AS weighted,
              quantileWeighted(0.95, double1, _sample_interval) AS p95
         FROM edgebank_metrics
        WHERE index1 = 'http_request' AND timestamp > NOW() - INTERVAL '5' MINUTE
        GROUP BY route, version ORDER BY route, version FORMAT JSON`,
      points,
    );
    expect(result.meta).toEqual([
      { name: "route", type: "String" },
      { name: "version", type: "String" },
      { name: "requests", type: "UInt64" },
      { name: "weighted", type: "Float64" },
      { name: "p95", type: "Float64" },
    ]);
    expect(result.data).toEqual([
      { route: "/v1/accounts", version: "v1", requests: "10", weighted: 10, p95: 100 },
      { route: "/v1/accounts", version: "v2", requests: "2", weighted: 2, p95: 500 },
      { route: "/v1/transfers", version: "v1", requests: "1", weighted: 1, p95: 7 },
    ]);
  });

  it("filters with IN, !=, and aggregates a whole table; LIMIT and DESC order", () => {
    const errors = runQuery(
      "SELECT count() AS n FROM edgebank_metrics WHERE index1 = 'http_request' AND blob5 IN ('5xx', '4xx')",
      points,
    );
    expect(errors.data).toEqual([{ n: "1" }]);
    const slowest = runQuery(
      "SELECT blob3, double1 FROM edgebank_metrics WHERE index1 = 'http_request' AND blob2 != 'v2' ORDER BY double1 DESC LIMIT 2",
      points,
    );
    expect(slowest.data).toEqual([
      { blob3: "/v1/transfers", double1: 7000 },
      { blob3: "/v1/accounts", double1: 100 },
    ]);
    expect(slowest.rows_before_limit_at_least).toBe(12);
    expect(runQuery("SELECT count() AS n FROM edgebank_metrics WHERE index1 = 'nothing'", points).data).toEqual([
      { n: "0" },
    ]);
  });

  it("refuses what it does not implement instead of answering wrongly", () => {
    expect(() => runQuery("SELECT uniq(blob1) FROM edgebank_metrics", points)).toThrow(/uniq\(\) is not supported/);
    expect(() => runQuery("SELECT blob1 FROM edgebank_metrics FORMAT CSV", points)).toThrow(/FORMAT CSV/);
    expect(() => runQuery("SELECT nope FROM edgebank_metrics", points)).toThrow(/unknown column nope/);
  });
});

describe("the development Cloudflare API", () => {
  let api: CloudflareApiServer;
  beforeAll(async () => {
    api = await startCloudflareApi({ accountId: "0123456789abcdef0123456789abcdef", token: "dev-token" });
  });
  afterAll(() => api.close());

  it("keeps what Workers send to its sink and answers the SQL API with a bearer token", async () => {
    const sent = await fetch(`${api.sinkUrl}/edgebank_metrics`, {
      method: "POST",
      body: JSON.stringify([
        { indexes: ["http_request"], blobs: ["auth", "v9", "/v1/auth/token", "POST", "2xx"], doubles: [12, 200] },
      ]),
    });
    expect(sent.status).toBe(204);
    const client = { baseUrl: api.apiBaseUrl, accountId: "0123456789abcdef0123456789abcdef", token: "dev-token" };
    const result = await queryAnalyticsEngine<{ route: string; n: string }>(
      client,
      "SELECT blob3 AS route, count() AS n FROM edgebank_metrics WHERE blob2 = 'v9' GROUP BY route",
    );
    expect(result.data).toEqual([{ route: "/v1/auth/token", n: "1" }]);
    await expect(
      queryAnalyticsEngine({ ...client, token: "wrong" }, "SELECT count() FROM edgebank_metrics"),
    ).rejects.toThrow(/401/);
    await expect(queryAnalyticsEngine(client, "SELECT uniq(blob1) FROM edgebank_metrics")).rejects.toThrow(/422/);
  });
});
