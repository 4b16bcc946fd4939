import { AppError } from "@edgebank/errors";
import { type AppEnv, propagationHeaders } from "@edgebank/http";
import { PolicyRegistry } from "@edgebank/resilience";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { authenticate } from "./authenticate.ts";
import { type GatewayConfig, gatewayConfig } from "./config.ts";
import { admit } from "./rate-limit.ts";
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
  summary: "Operators and the platform's monitor: readiness of every service behind the gateway",
  description:
    "Each service's readiness probe queries its database, so this needs an operator's token or " +
    "the monitor's probe credential (HEALTH_PROBE_TOKEN), and is rate-limited per caller. " +
    "Public liveness without I/O is GET /health.",
  security: [{ bearer: [] }],
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

/** SHA-256 of both sides, compared in constant time (the lengths differ freely). */
async function sameSecret(presented: string, expected: string): Promise<boolean> {
  const digest = async (value: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
  const [a, b] = await Promise.all([digest(presented), digest(expected)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

/** Who asks: the monitor with its probe credential, or an operator's token; anyone else is refused. */
async function caller(config: GatewayConfig, authorization: string | undefined): Promise<string> {
  const presented = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
  if (presented && config.HEALTH_PROBE_TOKEN && (await sameSecret(presented, config.HEALTH_PROBE_TOKEN))) {
    return "monitor";
  }
  return (await authenticate(config, authorization, { anyOf: ["operator"] })).subject;
}

/**
 * `GET /health/all`: 200 when every service is ready, else a 503 problem naming the others.
 * It makes every database work, so only operators and the monitor may call it, counted in
 * the API's per-caller limit.
 */
export function registerHealthAll(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const config = gatewayConfig(c.env);
    const principal = await caller(config, c.req.header("authorization"));
    const limited = await admit(config, "api", `health:${principal}`, c.get("log"));
    for (const [name, value] of Object.entries(limited)) c.header(name, value);
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
