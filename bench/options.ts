/**
 * What every benchmark run may be narrowed to or switched, from the environment:
 *   BENCH_LEVELS=32        only these concurrency levels (comma-separated)
 *   BENCH_TELEMETRY=on     the Workers trace (at the production sampling ratio, 0.1), report
 *                          errors to Sentry and write Analytics Engine points, as in production;
 *                          off (default): none of it, the baseline it is compared with;
 *                          compare: both side by side in one run (bench:accounts), alternating;
 *                          alternate: both in one run, one measured worker alive at a time
 *                          (bench:accounts: off, on, on, off, each arm on its own wrangler).
 *   BENCH_CPU_PROFILE=dir  a CPU profile of the measured worker per run, written to dir
 *                          (bench:accounts, alternate; see profile.ts).
 */

/** The concurrency levels to run: BENCH_LEVELS when set, else `defaults`. */
export function benchLevels(defaults: number[]): number[] {
  const chosen = (process.env.BENCH_LEVELS ?? "")
    .split(",")
    .map((level) => Number(level.trim()))
    .filter((level) => Number.isInteger(level) && level > 0);
  return chosen.length > 0 ? chosen : defaults;
}

/** The production head-sampling ratio of new traces. */
export const PRODUCTION_SAMPLE_RATIO = "0.1";

export const telemetryOn = process.env.BENCH_TELEMETRY === "on";
export const telemetryCompare = process.env.BENCH_TELEMETRY === "compare";
export const telemetryAlternate = process.env.BENCH_TELEMETRY === "alternate";

/**
 * The Workers' telemetry variables for a run: on, traces go out at the production ratio and
 * errors to Sentry (to `endpoints`, when given; else the stack's own), and Analytics Engine points
 * go to the binding only, as in production, not to the development sink; off, all disabled.
 */
export function telemetryVars(
  endpoints?: { otlpEndpoint: string; sentryDsn: string },
  on = telemetryOn,
): Record<string, string> {
  if (!on) return { OTEL_EXPORTER_OTLP_ENDPOINT: "", SENTRY_DSN: "", ANALYTICS_ENGINE_SINK_URL: "" };
  // BENCH_TELEMETRY_PARTS=traces or =errors: only that part on (to find where a cost comes from).
  const parts = process.env.BENCH_TELEMETRY_PARTS ?? "traces,errors";
  return {
    ...(endpoints
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: parts.includes("traces") ? endpoints.otlpEndpoint : "",
          SENTRY_DSN: parts.includes("errors") ? endpoints.sentryDsn : "",
        }
      : {}),
    // BENCH_SAMPLE_RATIO: another head-sampling ratio (0: every trace sampled out, to tell the
    // per-invocation cost from the cost of the spans kept).
    OTEL_TRACES_SAMPLER_ARG: process.env.BENCH_SAMPLE_RATIO ?? PRODUCTION_SAMPLE_RATIO,
    ANALYTICS_ENGINE_SINK_URL: "",
  };
}
