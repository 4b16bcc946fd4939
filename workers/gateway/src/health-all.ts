import { AppError } from "@edgebank/errors";
import { type AppEnv, propagationHeaders } from "@edgebank/http";
import { PolicyRegistry } from "@edgebank/resilience";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { gatewayConfig } from "./config.ts";
import { downstreams } from "./services.ts";

/** Breakers and bulkheads per service outlive a request: one registry per isolate. */
const policies = new PolicyRegistry();

const serviceState = z.object({
  status: z.enum(["ready", "not_ready", "unreachable"]),
  httpStatus: z.number().optional(),
  latencyMs: z.number(),
  version: z.string().optional(),
});
type ServiceState = z.infer<typeof serviceState>;

const allReady = z
  .object({ status: z.literal("ready"), services: z.record(z.string(), serviceState) })
  .openapi("SystemReadiness");

const route = createRoute({
  method: "get",
  path: "/health/all",
  tags: ["health"],
  summary: "Readiness of every service behind the gateway, through its service binding",
  responses: {
    200: { description: "Every service is ready", content: { "application/json": { schema: allReady } } },
    503: { description: "At least one service is not ready: problem document with a `services` member" },
  },
});

async function probe(c: Context<AppEnv>, binding: Fetcher, service: string, timeoutMs: number): Promise<ServiceState> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  // Readiness must show the truth: no retries, a short deadline, the service's own breaker.
  const policy = policies.get(service, { attemptTimeoutMs: timeoutMs, retry: { maxAttempts: 1 } });
  try {
    const response = await policy.execute((signal) =>
      binding.fetch(new Request(`https://${service}.internal/ready`, { headers: propagationHeaders(c), signal })),
    );
    const body = (await response.json().catch(() => ({}))) as { version?: unknown };
    const version = typeof body.version === "string" ? body.version : undefined;
    return {
      status: response.ok ? "ready" : "not_ready",
      httpStatus: response.status,
      latencyMs: latencyMs(),
      ...(version ? { version } : {}),
    };
  } catch (error) {
    c.get("log").warn("service readiness probe failed", {
      downstream: service,
      error: error instanceof Error ? error.message : String(error),
    });
    return { status: "unreachable", latencyMs: latencyMs() };
  }
}

/** `GET /health/all`: 200 when every service is ready, else a 503 problem naming the others. */
export function registerHealthAll(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const config = gatewayConfig(c.env);
    const states = await Promise.all(
      downstreams.map(
        async ({ service, binding }) =>
          [service, await probe(c, config[binding], service, config.DOWNSTREAM_TIMEOUT_MS)] as const,
      ),
    );
    const services = Object.fromEntries(states);
    const notReady = states.filter(([, state]) => state.status !== "ready").map(([service]) => service);
    if (notReady.length > 0) {
      throw new AppError("not_ready", `Not ready: ${notReady.join(", ")}.`, { extensions: { services } });
    }
    c.header("cache-control", "no-store");
    return c.json({ status: "ready" as const, services }, 200);
  });
}
