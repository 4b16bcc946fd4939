import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./context.ts";
import { createLogger, type LogLevel } from "./logger.ts";
import { continueTrace } from "./trace.ts";

/** The settings the shared middleware reads from a worker's validated config. */
export interface HttpSettings {
  SERVICE_VERSION: string;
  LOG_LEVEL: LogLevel;
  MAX_BODY_BYTES: number;
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
    c.set("requestId", requestId);
    c.set("trace", trace);
    // A logger exists before the config is read, so an invalid config is still logged with the request id.
    c.set("log", createLogger({ service, version: "unknown", requestId, traceId: trace.traceId }));
    try {
      const { SERVICE_VERSION, LOG_LEVEL } = settings(c.env);
      c.set("log", createLogger({ service, version: SERVICE_VERSION, requestId, traceId: trace.traceId }, LOG_LEVEL));
      await next();
    } finally {
      // After next(): error and not-found responses are built as new Response objects.
      c.res.headers.set("x-request-id", requestId);
    }
  };
}

/** One structured JSON access-log line per request, written after the response is known. */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    const started = performance.now();
    await next();
    c.get("log").info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      parentSpanId: c.get("trace").parentSpanId,
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
