/**
 * The one definition of edgebank's metrics and alerts. Workers write the data points
 * (Analytics Engine: index1 = name; blob1 = service, blob2 = version id, then the labels in the
 * order given here; double1… = the values); `npm run observability` generates from this file the
 * Grafana dashboard (SQL over the Analytics Engine SQL API), the Prometheus alert rules and their
 * unit tests (over the series the metrics exporter derives from the same SQL), and docs/metrics.md.
 */

export interface MetricDefinition {
  /** The data point's index1, as the Workers write it. */
  name: string;
  help: string;
  /** Labels after service and version, in blob order (blob3, blob4, …). */
  labels: string[];
  /** What each double holds, in order. */
  doubles: string[];
  /** The Prometheus series derived from it, and the aggregation over the data points. */
  prometheus: Array<{ name: string; type: "counter" | "gauge"; help: string; sql: string }>;
}

/** `SELECT` over one metric's points, grouped by service, version and its labels. */
function series(metric: string, labels: string[], value: string): string {
  const columns = ["blob1 AS service", "blob2 AS version", ...labels.map((label, i) => `blob${i + 3} AS ${label}`)];
  const groups = ["service", "version", ...labels];
  return `SELECT ${columns.join(", ")}, ${value} AS value FROM edgebank_metrics WHERE index1 = '${metric}' GROUP BY ${groups.join(", ")}`;
}

/** The latest value of a gauge written as points (the newest point per series, within 15 minutes). */
function latest(metric: string, labels: string[]): string {
  return `${series(metric, labels, "max(double1)").replace("GROUP BY", "AND timestamp > NOW() - INTERVAL '15' MINUTE GROUP BY")}`;
}

const requestLabels = ["route", "method", "status_class"];

export const metrics: MetricDefinition[] = [
  {
    name: "http_request",
    help:
      "One request a Worker answered (every Worker, every route), or one internal RPC call it served " +
      "(route `rpc <Entrypoint>.<method>`, method `RPC`, the status its result stands for).",
    labels: requestLabels,
    doubles: ["duration in milliseconds", "HTTP status"],
    prometheus: [
      {
        name: "edgebank_http_requests_total",
        type: "counter",
        help: "Requests answered, per service, version, route, method and status class.",
        sql: series("http_request", requestLabels, "sum(_sample_interval)"),
      },
      ...(["50", "95", "99"] as const).map((q) => ({
        name: `edgebank_http_request_duration_p${q}_seconds`,
        type: "gauge" as const,
        help: `p${q} request duration over the last 5 minutes, per service, version and route.`,
        sql: `SELECT blob1 AS service, blob2 AS version, blob3 AS route, quantileWeighted(0.${q}, double1, _sample_interval) / 1000 AS value FROM edgebank_metrics WHERE index1 = 'http_request' AND timestamp > NOW() - INTERVAL '5' MINUTE GROUP BY service, version, route`,
      })),
    ],
  },
  {
    name: "transfer_settled",
    help: "A transfer reached an outcome: COMPLETED, FAILED (with its reason) or NEEDS_ATTENTION.",
    labels: ["kind", "reason", "status"],
    doubles: ["1"],
    prometheus: [
      {
        name: "edgebank_transfers_settled_total",
        type: "counter",
        help: "Transfers settled, per kind, outcome and failure reason.",
        sql: series("transfer_settled", ["kind", "reason", "status"], "sum(double1 * _sample_interval)"),
      },
    ],
  },
  {
    name: "payment_settled",
    help: "A payment reached an outcome (direct or an order's).",
    labels: ["kind", "reason", "status"],
    doubles: ["1"],
    prometheus: [
      {
        name: "edgebank_payments_settled_total",
        type: "counter",
        help: "Payments settled, per kind, outcome and failure reason.",
        sql: series("payment_settled", ["kind", "reason", "status"], "sum(double1 * _sample_interval)"),
      },
    ],
  },
  {
    name: "saga_step",
    help: "A transfer saga ran a step; status is where it left the saga (RUNNING, RETRY_LATER or an end).",
    labels: ["status", "step"],
    doubles: ["1"],
    prometheus: [
      {
        name: "edgebank_saga_steps_total",
        type: "counter",
        help: "Saga steps run, per step and resulting state.",
        sql: series("saga_step", ["status", "step"], "sum(double1 * _sample_interval)"),
      },
    ],
  },
  {
    name: "refund_settled",
    help: "A refund reached an outcome: COMPLETED, FAILED (with its reason) or NEEDS_ATTENTION.",
    labels: ["reason", "status"],
    doubles: ["1"],
    prometheus: [
      {
        name: "edgebank_refunds_settled_total",
        type: "counter",
        help: "Refunds settled, per outcome and failure reason.",
        sql: series("refund_settled", ["reason", "status"], "sum(double1 * _sample_interval)"),
      },
    ],
  },
  {
    name: "payment_step",
    help: "A payment's flow ran a step; status is where it left the flow (RUNNING, WAITING, RETRY_LATER or an end).",
    labels: ["status", "step"],
    doubles: ["1"],
    prometheus: [
      {
        name: "edgebank_payment_steps_total",
        type: "counter",
        help: "Payment flow steps run, per step and resulting state.",
        sql: series("payment_step", ["status", "step"], "sum(double1 * _sample_interval)"),
      },
    ],
  },
  {
    name: "refund_step",
    help: "A refund's flow ran a step; status is where it left the flow (RUNNING, RETRY_LATER or an end).",
    labels: ["status", "step"],
    doubles: ["1"],
    prometheus: [
      {
        name: "edgebank_refund_steps_total",
        type: "counter",
        help: "Refund flow steps run, per step and resulting state.",
        sql: series("refund_step", ["status", "step"], "sum(double1 * _sample_interval)"),
      },
    ],
  },
  {
    name: "outbox_pending",
    help: "Events in a service's outbox not yet acknowledged by Kafka, after a relay run.",
    labels: [],
    doubles: ["count"],
    prometheus: [
      {
        name: "edgebank_outbox_pending",
        type: "gauge",
        help: "Outbox events waiting.",
        sql: latest("outbox_pending", []),
      },
    ],
  },
  {
    name: "outbox_oldest_age_seconds",
    help: "Age of the oldest event still in a service's outbox, after a relay run.",
    labels: [],
    doubles: ["seconds"],
    prometheus: [
      {
        name: "edgebank_outbox_oldest_age_seconds",
        type: "gauge",
        help: "Age of the oldest unpublished outbox event.",
        sql: latest("outbox_oldest_age_seconds", []),
      },
    ],
  },
  {
    name: "outbox_published",
    help: "Events a relay run published.",
    labels: [],
    doubles: ["count"],
    prometheus: [
      {
        name: "edgebank_outbox_published_total",
        type: "counter",
        help: "Outbox events published to Kafka.",
        sql: series("outbox_published", [], "sum(double1 * _sample_interval)"),
      },
    ],
  },
  {
    name: "consumer_handled",
    help: "Events a consumer applied in one batch.",
    labels: ["group", "topic"],
    doubles: ["count"],
    prometheus: [
      {
        name: "edgebank_consumer_handled_total",
        type: "counter",
        help: "Events applied, per consumer group and topic.",
        sql: series("consumer_handled", ["group", "topic"], "sum(double1 * _sample_interval)"),
      },
    ],
  },
  {
    name: "consumer_lag_seconds",
    help: "Age of the newest event a consumer batch applied (commit to consume).",
    labels: ["group", "topic"],
    doubles: ["seconds"],
    prometheus: [
      {
        name: "edgebank_consumer_lag_seconds",
        type: "gauge",
        help: "Commit-to-consume delay of the newest applied event.",
        sql: latest("consumer_lag_seconds", ["group", "topic"]),
      },
    ],
  },
  {
    name: "consumer_lag",
    help: "Records on the topic the consumer has not reached yet.",
    labels: ["group", "topic"],
    doubles: ["records"],
    prometheus: [
      {
        name: "edgebank_consumer_lag_records",
        type: "gauge",
        help: "Records behind the end of the topic.",
        sql: latest("consumer_lag", ["group", "topic"]),
      },
    ],
  },
  {
    name: "consumer_dead_lettered",
    help: "Events a consumer gave up on and dead-lettered.",
    labels: ["group", "topic"],
    doubles: ["count"],
    prometheus: [
      {
        name: "edgebank_consumer_dead_lettered_total",
        type: "counter",
        help: "Events dead-lettered, per consumer group and topic.",
        sql: series("consumer_dead_lettered", ["group", "topic"], "sum(double1 * _sample_interval)"),
      },
    ],
  },
  {
    name: "webhook_deliveries_failed",
    help: "Webhook deliveries that failed in one delivery run.",
    labels: [],
    doubles: ["count"],
    prometheus: [
      {
        name: "edgebank_webhook_deliveries_failed_total",
        type: "counter",
        help: "Failed webhook deliveries.",
        sql: series("webhook_deliveries_failed", [], "sum(double1 * _sample_interval)"),
      },
    ],
  },
  {
    name: "ledger_reconciliation_mismatches",
    help: "Accounts whose balance differs from the ledger's, in the last reconciliation.",
    labels: ["trigger"],
    doubles: ["count"],
    prometheus: [
      {
        name: "edgebank_ledger_reconciliation_mismatches",
        type: "gauge",
        help: "Mismatched accounts in the latest reconciliation.",
        sql: latest("ledger_reconciliation_mismatches", ["trigger"]),
      },
    ],
  },
  {
    name: "ledger_reconciliation_accounts",
    help: "Accounts compared in the last reconciliation.",
    labels: ["trigger"],
    doubles: ["count"],
    prometheus: [
      {
        name: "edgebank_ledger_reconciliation_accounts",
        type: "gauge",
        help: "Accounts compared in the latest reconciliation.",
        sql: latest("ledger_reconciliation_accounts", ["trigger"]),
      },
    ],
  },
  {
    name: "signing_key_rotation_overdue_seconds",
    help: "How far past its rotation interval auth's current signing key is (0 when on time).",
    labels: [],
    doubles: ["seconds"],
    prometheus: [
      {
        name: "edgebank_signing_key_rotation_overdue_seconds",
        type: "gauge",
        help: "Seconds the signing-key rotation is overdue.",
        sql: latest("signing_key_rotation_overdue_seconds", []),
      },
    ],
  },
];

/** A unit test of an alert: series given, evaluated at a time, firing (with labels) or not. */
export interface AlertTest {
  series: Array<{ series: string; values: string }>;
  evalTime: string;
  /** Labels of each expected alert (besides severity); empty: must not fire. */
  firing: Array<Record<string, string>>;
}

export interface AlertDefinition {
  name: string;
  expr: string;
  for: string;
  severity: "page" | "ticket";
  summary: string;
  /** Its section in docs/runbook.md. */
  runbook: string;
  tests: AlertTest[];
}

export const alerts: AlertDefinition[] = [
  {
    name: "EdgebankLatencyP95High",
    expr: "max by (service, route) (edgebank_http_request_duration_p95_seconds) > 0.5",
    for: "10m",
    severity: "ticket",
    summary: "p95 latency of a route has been above 500 ms for 10 minutes.",
    runbook: "latency",
    tests: [
      {
        series: [
          {
            series: 'edgebank_http_request_duration_p95_seconds{service="gateway",version="v1",route="/v1/transfers"}',
            values: "0.2x5 0.9x15",
          },
          {
            series: 'edgebank_http_request_duration_p95_seconds{service="gateway",version="v1",route="/v1/accounts"}',
            values: "0.1x20",
          },
        ],
        evalTime: "18m",
        firing: [{ service: "gateway", route: "/v1/transfers" }],
      },
      {
        series: [
          {
            series: 'edgebank_http_request_duration_p95_seconds{service="gateway",version="v1",route="/v1/transfers"}',
            values: "0.9x8",
          },
        ],
        evalTime: "8m",
        firing: [],
      },
    ],
  },
  {
    name: "EdgebankLatencyP99High",
    expr: "max by (service, route) (edgebank_http_request_duration_p99_seconds) > 2",
    for: "10m",
    severity: "ticket",
    summary: "p99 latency of a route has been above 2 s for 10 minutes.",
    runbook: "latency",
    tests: [
      {
        series: [
          {
            series:
              'edgebank_http_request_duration_p99_seconds{service="transfers",version="v1",route="/v1/transfers"}',
            values: "3x20",
          },
        ],
        evalTime: "15m",
        firing: [{ service: "transfers", route: "/v1/transfers" }],
      },
    ],
  },
  {
    name: "EdgebankServerErrorRatioHigh",
    expr: 'sum by (service) (rate(edgebank_http_requests_total{status_class="5xx"}[5m])) / sum by (service) (rate(edgebank_http_requests_total[5m])) > 0.01',
    for: "5m",
    severity: "page",
    summary: "More than 1% of a service's requests have failed with a 5xx for 5 minutes.",
    runbook: "server-errors",
    tests: [
      {
        series: [
          {
            series:
              'edgebank_http_requests_total{service="payments",version="v2",route="/v1/payments",method="POST",status_class="2xx"}',
            values: "0+100x20",
          },
          {
            series:
              'edgebank_http_requests_total{service="payments",version="v2",route="/v1/payments",method="POST",status_class="5xx"}',
            values: "0+5x20",
          },
        ],
        evalTime: "15m",
        firing: [{ service: "payments" }],
      },
      {
        series: [
          {
            series:
              'edgebank_http_requests_total{service="payments",version="v2",route="/v1/payments",method="POST",status_class="2xx"}',
            values: "0+1000x20",
          },
          {
            series:
              'edgebank_http_requests_total{service="payments",version="v2",route="/v1/payments",method="POST",status_class="5xx"}',
            values: "0+1x20",
          },
        ],
        evalTime: "15m",
        firing: [],
      },
    ],
  },
  {
    name: "EdgebankTransferNeedsAttention",
    expr: 'sum by (service) (increase(edgebank_transfers_settled_total{status="NEEDS_ATTENTION"}[15m])) > 0',
    for: "0m",
    severity: "page",
    summary: "A transfer saga stopped and waits for an operator.",
    runbook: "needs-attention",
    tests: [
      {
        series: [
          {
            series:
              'edgebank_transfers_settled_total{service="transfers",version="v1",kind="transfer",reason="reversal_failed",status="NEEDS_ATTENTION"}',
            values: "0 0 1 1 1",
          },
        ],
        evalTime: "4m",
        firing: [{ service: "transfers" }],
      },
      {
        series: [
          {
            series:
              'edgebank_transfers_settled_total{service="transfers",version="v1",kind="transfer",reason="",status="COMPLETED"}',
            values: "0+10x10",
          },
        ],
        evalTime: "8m",
        firing: [],
      },
    ],
  },
  {
    name: "EdgebankOutboxStale",
    expr: "max by (service) (edgebank_outbox_oldest_age_seconds) > 60",
    for: "2m",
    severity: "page",
    summary: "An outbox has held an unpublished event for more than 60 s.",
    runbook: "outbox-stale",
    tests: [
      {
        series: [
          {
            series: 'edgebank_outbox_oldest_age_seconds{service="accounts",version="v1"}',
            values: "0 30 90 150 210 270",
          },
        ],
        evalTime: "5m",
        firing: [{ service: "accounts" }],
      },
      {
        series: [
          { series: 'edgebank_outbox_oldest_age_seconds{service="accounts",version="v1"}', values: "0 30 50 20 10 0" },
        ],
        evalTime: "5m",
        firing: [],
      },
    ],
  },
  {
    name: "EdgebankConsumerLagging",
    expr: "max by (service, group, topic) (edgebank_consumer_lag_seconds) > 120",
    for: "5m",
    severity: "ticket",
    summary: "A consumer has applied events more than 2 minutes after their commit for 5 minutes.",
    runbook: "consumer-lag",
    tests: [
      {
        series: [
          {
            series:
              'edgebank_consumer_lag_seconds{service="notifications",version="v1",group="notifications",topic="edgebank.transfers"}',
            values: "300x10",
          },
        ],
        evalTime: "8m",
        firing: [{ service: "notifications", group: "notifications", topic: "edgebank.transfers" }],
      },
    ],
  },
  {
    name: "EdgebankDeadLetter",
    expr: "sum by (service, group, topic) (increase(edgebank_consumer_dead_lettered_total[15m])) > 0",
    for: "0m",
    severity: "page",
    summary: "A consumer dead-lettered an event: its effect did not happen.",
    runbook: "dead-letter",
    tests: [
      {
        series: [
          {
            series:
              'edgebank_consumer_dead_lettered_total{service="inventory",version="v1",group="inventory",topic="edgebank.orders"}',
            values: "0 0 1 1",
          },
        ],
        evalTime: "3m",
        firing: [{ service: "inventory", group: "inventory", topic: "edgebank.orders" }],
      },
    ],
  },
  {
    name: "EdgebankReconciliationMismatch",
    expr: "max by (service) (edgebank_ledger_reconciliation_mismatches) > 0",
    for: "0m",
    severity: "page",
    summary: "The ledger and the account balances disagree.",
    runbook: "reconciliation-mismatch",
    tests: [
      {
        series: [
          {
            series: 'edgebank_ledger_reconciliation_mismatches{service="ledger",version="v1",trigger="cron"}',
            values: "0 0 2",
          },
        ],
        evalTime: "2m",
        firing: [{ service: "ledger" }],
      },
      {
        series: [
          {
            series: 'edgebank_ledger_reconciliation_mismatches{service="ledger",version="v1",trigger="cron"}',
            values: "0x5",
          },
        ],
        evalTime: "4m",
        firing: [],
      },
    ],
  },
  {
    name: "EdgebankSigningKeyRotationOverdue",
    expr: "max by (service) (edgebank_signing_key_rotation_overdue_seconds) > 3600",
    for: "15m",
    severity: "ticket",
    summary: "auth's signing key is more than an hour past its rotation interval.",
    runbook: "key-rotation",
    tests: [
      {
        series: [
          { series: 'edgebank_signing_key_rotation_overdue_seconds{service="auth",version="v1"}', values: "7200x30" },
        ],
        evalTime: "20m",
        firing: [{ service: "auth" }],
      },
    ],
  },
];
