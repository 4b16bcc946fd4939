import { currentTraceparent } from "@edgebank/telemetry";
import type { Context } from "hono";
import type { AppEnv } from "./context.ts";
import { formatTraceparent } from "./trace.ts";

/**
 * Headers that carry the request id and trace context to a downstream call (service binding,
 * Kafka record), so one request can be followed across every worker it touches. The parent is
 * the active span (the client span of the call) when traced.
 */
export function propagationHeaders(c: Context<AppEnv>): Record<string, string> {
  return { "x-request-id": c.get("requestId"), traceparent: currentTraceparent() ?? formatTraceparent(c.get("trace")) };
}
