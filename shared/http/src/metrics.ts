import type { Logger } from "./logger.ts";
import { versionIdOf } from "./telemetry.ts";

/** The part of a Workers Analytics Engine dataset binding that metrics use. */
export interface MetricsDataset {
  writeDataPoint(point: DataPoint): void;
}

/** One Analytics Engine data point: index1 names the metric; blobs are labels; doubles values. */
export interface DataPoint {
  indexes?: string[];
  blobs?: string[];
  doubles?: number[];
}

/** The dataset every Worker writes to (the METRICS binding). */
export const METRICS_DATASET = "edgebank_metrics";

/** Points waiting for the development sink (per isolate), sent by flushMetrics. */
const pending: DataPoint[] = [];

function isDataset(value: unknown): value is MetricsDataset {
  return typeof (value as MetricsDataset | undefined)?.writeDataPoint === "function";
}

function sinkOf(env: unknown): string | undefined {
  const sink = (env as { ANALYTICS_ENGINE_SINK_URL?: unknown } | undefined)?.ANALYTICS_ENGINE_SINK_URL;
  return typeof sink === "string" && sink !== "" ? sink : undefined;
}

/**
 * Writes one data point to the Analytics Engine dataset bound as METRICS. Locally, where
 * wrangler keeps no Analytics Engine writes, ANALYTICS_ENGINE_SINK_URL names the development
 * Cloudflare API (dev/cloudflare-api), which answers the same SQL over them; points for it wait
 * for `flushMetrics`.
 */
export function writeDataPoint(env: unknown, point: DataPoint): void {
  const dataset = (env as { METRICS?: unknown } | undefined)?.METRICS;
  if (isDataset(dataset)) dataset.writeDataPoint(point);
  if (sinkOf(env) && pending.length < 10_000) pending.push(point);
}

/** Sends the points waiting for the development sink (nothing in production); never throws. */
export async function flushMetrics(env: unknown): Promise<void> {
  const sink = sinkOf(env);
  if (!sink || pending.length === 0) return;
  const batch = pending.splice(0);
  try {
    const response = await fetch(`${sink}/${METRICS_DATASET}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(batch),
    });
    await response.body?.cancel();
  } catch {
    // Metrics never fail the work they measure.
  }
}

/**
 * One request a Worker answered, or one RPC call it served (docs/metrics.md: http_request): the
 * RED data point per service, version (the Workers version id, else `version`), route pattern,
 * method and status class, with its duration and status.
 */
export function writeRequestPoint(
  env: unknown,
  request: { service: string; version: string; route: string; method: string; status: number; durationMs: number },
): void {
  writeDataPoint(env, {
    indexes: ["http_request"],
    blobs: [
      request.service,
      versionIdOf(env) ?? request.version,
      request.route,
      request.method,
      `${Math.floor(request.status / 100)}xx`,
    ],
    doubles: [request.durationMs, request.status],
  });
}

/**
 * A business measurement's data point (docs/metrics.md): index = metric name; blobs = service,
 * version id (the Workers version, else SERVICE_VERSION), then the label values in key order;
 * doubles = the value.
 */
function metricPoint(
  env: object,
  context: { service: string; version: string },
  name: string,
  value: number,
  labels: Record<string, string>,
): DataPoint {
  const keys = Object.keys(labels).sort();
  return {
    indexes: [name],
    blobs: [context.service, versionIdOf(env) ?? context.version, ...keys.map((key) => labels[key] ?? "")],
    doubles: [value],
  };
}

/** One business measurement (a gauge or a count), also logged as `{"msg":"metric",…}`. */
export function recordMetric(
  env: object,
  log: Logger,
  context: { service: string; version: string },
  name: string,
  value: number,
  labels: Record<string, string> = {},
): void {
  writeDataPoint(env, metricPoint(env, context, name, value, labels));
  log.info("metric", { metric: name, value, ...labels });
}

/** One occurrence of a business event (value 1), e.g. a transfer settled with its status and reason. */
export function countEvent(env: object, service: string, name: string, labels: Record<string, string>): void {
  const version = (env as { SERVICE_VERSION?: unknown }).SERVICE_VERSION;
  writeDataPoint(
    env,
    metricPoint(env, { service, version: typeof version === "string" ? version : "unknown" }, name, 1, labels),
  );
}
