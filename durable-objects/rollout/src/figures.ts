import type { Invariants, VersionFigures } from "./analysis.ts";

/**
 * The Analytics Engine SQL a step's analysis asks (docs/metrics.md has the layout: `blob1` the
 * service, `blob2` the Workers version id), and the figures it makes of the answers. The window
 * is the last `seconds` (the API's clock is the reference; a step is judged when it ends).
 */
export interface WindowQuery {
  dataset: string;
  /** The service whose Worker is rolled out (`blob1`). */
  service: string;
  stableVersionId: string;
  canaryVersionId: string;
  seconds: number;
}

const quote = (value: string) => {
  if (!/^[A-Za-z0-9_.:-]+$/.test(value)) throw new Error(`refusing to quote ${JSON.stringify(value)} into SQL`);
  return `'${value}'`;
};

function where(query: WindowQuery, metric: string, versioned = true): string {
  const conditions = [
    `index1 = ${quote(metric)}`,
    ...(versioned
      ? [
          `blob1 = ${quote(query.service)}`,
          `blob2 IN (${quote(query.stableVersionId)}, ${quote(query.canaryVersionId)})`,
        ]
      : []),
    `timestamp > NOW() - INTERVAL '${Math.max(1, Math.ceil(query.seconds))}' SECOND`,
  ];
  return `FROM ${query.dataset} WHERE ${conditions.join(" AND ")}`;
}

/** The queries of one analysis, by what they answer. */
export function analysisQueries(query: WindowQuery) {
  return {
    statuses: `SELECT blob2 AS version, blob5 AS status_class, sum(_sample_interval) AS requests ${where(query, "http_request")} GROUP BY version, status_class FORMAT JSON`,
    routes: `SELECT blob2 AS version, blob3 AS route, sum(_sample_interval) AS requests, quantileWeighted(0.5, double1, _sample_interval) AS p50, quantileWeighted(0.95, double1, _sample_interval) AS p95, quantileWeighted(0.99, double1, _sample_interval) AS p99 ${where(query, "http_request")} GROUP BY version, route FORMAT JSON`,
    transfers: `SELECT blob2 AS version, blob5 AS status, sum(double1 * _sample_interval) AS flows ${where(query, "transfer_settled")} GROUP BY version, status FORMAT JSON`,
    payments: `SELECT blob2 AS version, blob5 AS status, sum(double1 * _sample_interval) AS flows ${where(query, "payment_settled")} GROUP BY version, status FORMAT JSON`,
    // Every service's flows, whichever version ran them: a step must not leave money stuck.
    transfersAttention: `SELECT sum(double1 * _sample_interval) AS flows ${where(query, "transfer_settled", false)} AND blob5 = 'NEEDS_ATTENTION' FORMAT JSON`,
    paymentsAttention: `SELECT sum(double1 * _sample_interval) AS flows ${where(query, "payment_settled", false)} AND blob5 = 'NEEDS_ATTENTION' FORMAT JSON`,
    refundsAttention: `SELECT sum(double1 * _sample_interval) AS flows ${where(query, "refund_settled", false)} AND blob4 = 'NEEDS_ATTENTION' FORMAT JSON`,
  };
}

export type AnalysisQueries = ReturnType<typeof analysisQueries>;
type Row = Record<string, string | number>;
export type Answers = Record<keyof AnalysisQueries, Row[]>;

const number = (value: string | number | undefined) => Number(value ?? 0) || 0;

/** The stable and new versions' figures from the answers to `analysisQueries`. */
export function figuresFrom(
  query: WindowQuery,
  answers: Answers,
): { stable: VersionFigures; canary: VersionFigures; needsAttention: Invariants["needsAttention"] } {
  const empty = (): VersionFigures => ({ requests: 0, serverErrors: 0, routes: {}, settled: 0, completed: 0 });
  const versions = { [query.stableVersionId]: empty(), [query.canaryVersionId]: empty() };
  for (const row of answers.statuses) {
    const figures = versions[String(row.version)];
    if (!figures) continue;
    figures.requests += number(row.requests);
    if (row.status_class === "5xx") figures.serverErrors += number(row.requests);
  }
  for (const row of answers.routes) {
    const figures = versions[String(row.version)];
    if (!figures) continue;
    figures.routes[String(row.route)] = {
      requests: number(row.requests),
      p50: number(row.p50),
      p95: number(row.p95),
      p99: number(row.p99),
    };
  }
  for (const row of [...answers.transfers, ...answers.payments]) {
    const figures = versions[String(row.version)];
    if (!figures) continue;
    figures.settled += number(row.flows);
    if (row.status === "COMPLETED") figures.completed += number(row.flows);
  }
  const needsAttention = [
    ...answers.transfersAttention,
    ...answers.paymentsAttention,
    ...answers.refundsAttention,
  ].reduce((sum, row) => sum + number(row.flows), 0);
  return {
    stable: versions[query.stableVersionId] ?? empty(),
    canary: versions[query.canaryVersionId] ?? empty(),
    needsAttention,
  };
}
