import { z } from "zod";
import { batchingExporter } from "./batch.ts";
import { otlpHttpExporter, parseOtlpHeaders, type Resource, type TraceExporter } from "./otlp.ts";

/**
 * The OpenTelemetry variables of every Worker (the SDK's standard names): where traces go
 * (unset or empty: nowhere, and nothing is recorded), extra headers for the collector (an API
 * key: a secret), and the head-sampling ratio of new traces (errors are always kept).
 */
export const telemetryVars = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .union([z.literal(""), z.url()])
    .optional()
    .transform((value) => value || undefined),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
});

export interface TelemetryVars {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_HEADERS?: string | undefined;
  OTEL_TRACES_SAMPLER_ARG: number;
}

/** A Worker's tracing setup: its resource, the exporter (none: tracing off) and the sampling ratio. */
export interface Telemetry {
  resource: Resource;
  exporter: TraceExporter | undefined;
  sampleRatio: number;
}

const exporters = new Map<string, TraceExporter>();

/**
 * The Worker's tracing setup from its vars: one exporter per endpoint and headers per isolate,
 * which gathers the spans of all its invocations into few requests.
 */
export function telemetryOf(resource: Resource, vars: TelemetryVars): Telemetry {
  const endpoint = vars.OTEL_EXPORTER_OTLP_ENDPOINT;
  let exporter: TraceExporter | undefined;
  if (endpoint) {
    const key = `${endpoint}\n${vars.OTEL_EXPORTER_OTLP_HEADERS ?? ""}`;
    exporter = exporters.get(key);
    if (!exporter) {
      exporter = batchingExporter(otlpHttpExporter(endpoint, parseOtlpHeaders(vars.OTEL_EXPORTER_OTLP_HEADERS)));
      exporters.set(key, exporter);
    }
  }
  return { resource, exporter, sampleRatio: vars.OTEL_TRACES_SAMPLER_ARG };
}
