import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { sampledByRatio } from "@edgebank/telemetry";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./context.ts";
import { createLogger, type LogLevel } from "./logger.ts";
import { routeOf, versionIdOf } from "./telemetry.ts";
import { continueTrace } from "./trace.ts";

/** The settings the shared middleware reads from a worker's validated config. */
export interface HttpSettings {
  ENVIRONMENT: string;
  SERVICE_VERSION: string;
  LOG_LEVEL: LogLevel;
  MAX_BODY_BYTES: number;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_HEADERS?: string | undefined;
  OTEL_TRACES_SAMPLER_ARG: number;
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Sets the request id (kept from `x-request-id` when a caller such as the gateway sent a
 * well-formed one, else new), the trace context (continued from `traceparent`) and a logger
 * bound to both; echoes the request id on the response.
 */
export function requestContext(service: string, settings: (env: object) => HttpSettings): MiddlewareHandler<AppEnv> {
  return async function requestContext(c, next) {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && requestIdPattern.test(incoming) ? incoming : newId("request");
    const trace = continueTrace(c.req.header("traceparent"));
    c.set("service", service);
    c.set("requestId", requestId);
    c.set("trace", trace);
    const versionId = versionIdOf(c.env);
    const context = {
      service,
      version: "unknown",
      ...(versionId ? { versionId } : {}),
      requestId,
      traceId: trace.traceId,
    };
    // A logger exists before the config is read, so an invalid config is still logged with the request id.
    c.set("log", createLogger(context));
    try {
      const { SERVICE_VERSION, LOG_LEVEL, OTEL_TRACES_SAMPLER_ARG } = settings(c.env);
      // A new trace is kept or not by the head-sampling ratio; a continued one keeps the caller's decision.
      if (!trace.parentSpanId && !sampledByRatio(trace.traceId, OTEL_TRACES_SAMPLER_ARG)) {
        c.set("trace", { ...trace, flags: "00" });
      }
      c.set("log", createLogger({ ...context, version: SERVICE_VERSION }, LOG_LEVEL));
      await next();
    } finally {
      // After next(): error and not-found responses are built as new Response objects. The
      // trace id lets a caller go from an answer to its trace.
      c.res.headers.set("x-request-id", requestId);
      c.res.headers.set("x-trace-id", trace.traceId);
    }
  };
}

/** One structured JSON access-log line per request, written after the response is known. */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    const started = performance.now();
    await next();
    const principal = (c.var as { principal?: { subject?: string } }).principal?.subject;
    c.get("log").info("request", {
      method: c.req.method,
      path: c.req.path,
      route: routeOf(c),
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      parentSpanId: c.get("trace").parentSpanId,
      ...(principal ? { principal } : {}),
    });
  };
}

/** Refuses bodies larger than the worker's MAX_BODY_BYTES with a 413 problem, before they are read whole. */
export function limitBody(settings: (env: object) => HttpSettings): MiddlewareHandler<AppEnv> {
  return async function limitBody(c, next) {
    const maxSize = settings(c.env).MAX_BODY_BYTES;
    const limit = bodyLimit({
      maxSize,
      onError: () => {
        throw new AppError("payload_too_large", `The request body exceeds ${maxSize} bytes.`);
      },
    });
    return limit(c, next);
  };
}

const bodyMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Rejects a JSON-typed body that does not parse with a 400 problem, whatever route it was sent
 * to. The parsed body is cached by Hono, so validators read it again at no cost.
 */
export function rejectMalformedJson(): MiddlewareHandler<AppEnv> {
  return async function rejectMalformedJson(c, next) {
    const type = c.req.header("content-type") ?? "";
    if (bodyMethods.has(c.req.method) && /^application\/([a-z0-9.+-]+\+)?json\b/i.test(type)) {
      try {
        await c.req.json();
      } catch (error) {
        if (error instanceof AppError) throw error; // e.g. payload_too_large from the body limit
        throw new AppError("malformed_json", "The request body is not valid JSON.");
      }
    }
    await next();
  };
}
