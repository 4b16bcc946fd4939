import { AppError } from "@edgebank/errors";
import { systemClock, TimeoutError, withTimeout } from "@edgebank/resilience";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "./context.ts";
import { describeError } from "./logger.ts";
import type { HttpSettings } from "./middleware.ts";

/**
 * A readiness check: resolves when the dependency is usable (optionally with figures worth
 * showing operators, e.g. an outbox backlog), throws otherwise.
 */
export type ReadinessCheck<E extends AppEnv> = (
  c: Context<E>,
  signal: AbortSignal,
) => Promise<Record<string, number | string> | undefined>;

export interface CheckResult {
  status: "up" | "down";
  latencyMs: number;
  /** Why a check is down: `timeout` or `error` (details go to the logs, not to callers). */
  reason?: "timeout" | "error";
  /** What an up check reported about itself. */
  details?: Record<string, number | string>;
}

const liveness = z.object({ status: z.literal("ok"), service: z.string(), version: z.string() }).openapi("Liveness");
const readiness = z
  .object({
    status: z.literal("ready"),
    service: z.string(),
    version: z.string(),
    checks: z.record(
      z.string(),
      z.object({
        status: z.enum(["up", "down"]),
        latencyMs: z.number(),
        details: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
      }),
    ),
  })
  .openapi("Readiness");

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["health"],
  summary: "Liveness: the worker runs",
  responses: { 200: { description: "Alive", content: { "application/json": { schema: liveness } } } },
});

const readyRoute = createRoute({
  method: "get",
  path: "/ready",
  tags: ["health"],
  summary: "Readiness: every dependency of the worker answers",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: readiness } } },
    503: { description: "Not ready: problem document with a `checks` member" },
  },
});

async function runCheck<E extends AppEnv>(
  c: Context<E>,
  name: string,
  check: ReadinessCheck<E>,
  timeoutMs: number,
): Promise<CheckResult> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  try {
    const details = await withTimeout((signal) => check(c, signal), {
      ms: timeoutMs,
      downstream: name,
      clock: systemClock,
    });
    return { status: "up", latencyMs: latency(), ...(details ? { details } : {}) };
  } catch (error) {
    if (error instanceof TimeoutError) return { status: "down", latencyMs: latency(), reason: "timeout" };
    c.get("log").warn("readiness check failed", describeError(error));
    return { status: "down", latencyMs: latency(), reason: "error" };
  }
}

/**
 * `GET /health` (liveness, no I/O) and `GET /ready` (runs every check concurrently, each with
 * a deadline; 200 when all are up, else a 503 problem listing each check's state).
 */
export function registerHealth<E extends AppEnv>(
  app: OpenAPIHono<E>,
  options: {
    service: string;
    settings: (env: object) => HttpSettings;
    checks: Record<string, ReadinessCheck<E>>;
    timeoutMs?: number;
  },
): void {
  const version = (c: Context<E>) => options.settings(c.env).SERVICE_VERSION;
  app.openapi(healthRoute, (c) =>
    c.json({ status: "ok" as const, service: options.service, version: version(c) }, 200),
  );
  app.openapi(readyRoute, async (c) => {
    const entries = await Promise.all(
      Object.entries(options.checks).map(
        async ([name, check]) => [name, await runCheck(c, name, check, options.timeoutMs ?? 2_000)] as const,
      ),
    );
    const checks = Object.fromEntries(entries);
    const down = entries.filter(([, result]) => result.status === "down").map(([name]) => name);
    if (down.length > 0) {
      throw new AppError("not_ready", `Not ready: ${down.join(", ")} down.`, {
        extensions: { service: options.service, checks },
      });
    }
    c.header("cache-control", "no-store");
    return c.json({ status: "ready" as const, service: options.service, version: version(c), checks }, 200);
  });
}
