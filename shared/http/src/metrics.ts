import type { Logger } from "./logger.ts";

/** The part of a Workers Analytics Engine dataset binding that metrics use. */
export interface MetricsDataset {
  writeDataPoint(point: { indexes?: string[]; blobs?: string[]; doubles?: number[] }): void;
}

/**
 * One measurement: written to the Workers Analytics Engine dataset bound as METRICS when there
 * is one (production), and always as a JSON log line `{"msg":"metric","metric":…}` so it is
 * readable locally, where wrangler does not keep Analytics Engine writes. The data point's
 * layout: index = metric name; blobs = service, version, then the label values in key order;
 * doubles = the value.
 */
export function recordMetric(
  env: object,
  log: Logger,
  context: { service: string; version: string },
  name: string,
  value: number,
  labels: Record<string, string> = {},
): void {
  const keys = Object.keys(labels).sort();
  const dataset = (env as { METRICS?: unknown }).METRICS;
  if (isDataset(dataset)) {
    dataset.writeDataPoint({
      indexes: [name],
      blobs: [context.service, context.version, ...keys.map((key) => labels[key] ?? "")],
      doubles: [value],
    });
  }
  log.info("metric", { metric: name, value, ...labels });
}

function isDataset(value: unknown): value is MetricsDataset {
  return typeof (value as MetricsDataset | undefined)?.writeDataPoint === "function";
}
