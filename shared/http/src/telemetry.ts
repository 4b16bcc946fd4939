import { baseVars, defineConfig } from "@edgebank/config";
import {
  type Attributes,
  type Parent,
  parseTraceparent,
  type Span,
  type SpanKindName,
  type Telemetry,
  telemetryOf,
  traceInvocation,
} from "@edgebank/telemetry";
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "./context.ts";
import { flushMetrics, writeRequestPoint } from "./metrics.ts";
import type { HttpSettings } from "./middleware.ts";
import { reportError } from "./sentry.ts";

/**
 * The Workers version id, from the version-metadata binding (CF_VERSION_METADATA) when bound.
 * `EDGEBANK_VERSION_ID` stands in for it in development only, where `npm run dev -- --version`
 * runs two versions of a Worker side by side under the ids the Cloudflare API stand-in gave them
 * (wrangler dev makes up a version id of its own).
 */
export function versionIdOf(env: unknown): string | undefined {
  const local = (env as { EDGEBANK_VERSION_ID?: unknown } | undefined)?.EDGEBANK_VERSION_ID;
  if (typeof local === "string" && local !== "") return local;
  const metadata = (env as { CF_VERSION_METADATA?: { id?: unknown } } | undefined)?.CF_VERSION_METADATA;
  return typeof metadata?.id === "string" && metadata.id !== "" ? metadata.id : undefined;
}

/** A Worker's tracing setup from its validated settings. */
export function workerTelemetry(service: string, env: unknown, settings: HttpSettings): Telemetry {
  return telemetryOf(
    { service, version: settings.SERVICE_VERSION, environment: settings.ENVIRONMENT, versionId: versionIdOf(env) },
    settings,
  );
}

/** The route pattern that answered (`/v1/transfers/:id`), or `unmatched`: bounded, unlike paths. */
export function routeOf(c: Context): string {
  const pattern = routePath(c, -1);
  return pattern === "*" || pattern === "/*" || pattern === "" ? "unmatched" : pattern;
}

/** `ctx.waitUntil` of the request, or a no-op outside the Workers runtime (tests calling app.request). */
export function waitUntilOf(c: Context): (promise: Promise<unknown>) => void {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    return (promise) => void promise.catch(() => undefined);
  }
}

/**
 * The request's RED data point (route pattern, method, status class, duration, version id) and
 * its server span (OpenTelemetry HTTP semantic conventions): the span continues
 * the caller's trace with the span id the request context chose, so what this Worker calls
 * nests under it, and is exported over OTLP when the request ends (nothing when tracing is off).
 */
export function traceRequests(service: string, settings: (env: object) => HttpSettings): MiddlewareHandler<AppEnv> {
  return async function traceRequests(c, next) {
    let parsed: HttpSettings;
    try {
      parsed = settings(c.env);
    } catch {
      return next(); // an invalid config answers 500 through the error handler
    }
    const trace = c.get("trace");
    const method = c.req.method;
    await traceInvocation(
      {
        telemetry: workerTelemetry(service, c.env, parsed),
        name: `${method} ${c.req.path}`,
        kind: "server",
        parent: { ...trace, sampled: trace.flags.endsWith("1") },
        attributes: {
          "http.request.method": method,
          "url.path": c.req.path,
          "edgebank.request_id": c.get("requestId"),
        },
        waitUntil: waitUntilOf(c),
      },
      async (span) => {
        const started = performance.now();
        await next();
        const route = routeOf(c);
        const status = c.res.status;
        writeRequestPoint(c.env, {
          service,
          version: parsed.SERVICE_VERSION,
          route,
          method,
          status,
          durationMs: performance.now() - started,
        });
        waitUntilOf(c)(flushMetrics(c.env));
        if (!span) return;
        span.name = `${method} ${route}`;
        span.setAttributes({ "http.route": route, "http.response.status_code": status });
        if (status >= 500) span.setError(`HTTP ${status}`);
      },
    );
  };
}

const workerVars = defineConfig(baseVars);

/**
 * Traces work of a Worker that is not an HTTP request: a Durable Object's call or alarm, a cron
 * run, a consumed event. `parent`: the traceparent that caused it (an operation's, an event's),
 * so it joins that trace; none starts a new trace sampled by the configured ratio.
 */
export function traceWork<T>(
  service: string,
  env: unknown,
  work: {
    name: string;
    kind?: SpanKindName;
    parent?: Parent;
    attributes?: Attributes;
    waitUntil: (promise: Promise<unknown>) => void;
  },
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  let telemetry: Telemetry;
  try {
    const vars = workerVars(env);
    telemetry = telemetryOf(
      { service, version: vars.SERVICE_VERSION, environment: vars.ENVIRONMENT, versionId: versionIdOf(env) },
      vars,
    );
  } catch {
    return fn(undefined);
  }
  const flushAfter = async (span: Span | undefined) => {
    try {
      return await fn(span);
    } catch (error) {
      const parent = typeof work.parent === "string" ? parseTraceparent(work.parent)?.traceId : work.parent?.traceId;
      reportError(env, error, { service, traceId: span?.traceId ?? parent }, work.waitUntil);
      throw error;
    } finally {
      work.waitUntil(flushMetrics(env as object));
    }
  };
  return traceInvocation(
    {
      telemetry,
      name: work.name,
      kind: work.kind ?? "internal",
      parent: work.parent,
      ...(work.attributes ? { attributes: work.attributes } : {}),
      waitUntil: work.waitUntil,
    },
    flushAfter,
  );
}
