import { env, exports } from "cloudflare:workers";
import { signToken } from "@edgebank/auth/testing";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { claims, issuerKey, publish } from "./keys.ts";
import { startInsideWindow } from "./rate-window.ts";

const services = [
  "auth",
  "accounts",
  "transfers",
  "payments",
  "ledger",
  "notifications",
  "orders",
  "inventory",
  "delivery",
];

function setBehaviours(behaviours: Record<string, string>) {
  return env.CONTROL.fetch("http://control/", { method: "POST", body: JSON.stringify({ behaviours }) });
}

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`https://api.edgebank.test${path}`, init));

let key: Awaited<ReturnType<typeof issuerKey>>;
let operator = "";
let customer = "";
const asOperator = (headers: Record<string, string> = {}) => ({
  headers: { authorization: `Bearer ${operator}`, ...headers },
});

beforeAll(async () => {
  key = await issuerKey(`health-${crypto.randomUUID()}`);
  operator = await signToken(key, claims({ sub: `usr_op_${crypto.randomUUID()}`, scope: "operator" }));
  customer = await signToken(key, claims());
});

beforeEach(async () => {
  await publish([key.publicJwk]);
  await setBehaviours({});
});

/** The request id each service's /ready last saw. */
async function lastProbeRequestIds(): Promise<Array<string | undefined>> {
  const { seenHeaders } = (await (await env.CONTROL.fetch("http://control/")).json()) as {
    seenHeaders: Record<string, Record<string, string>>;
  };
  return services.map((service) => seenHeaders[service]?.["x-request-id"]);
}

describe("who may call GET /health/all", () => {
  it("refuses anonymous callers and customers before any service is probed", async () => {
    const anonymous = await call("/health/all", { headers: { "x-request-id": "req-anonymous-probe" } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("content-type")).toBe("application/problem+json");
    const stranger = await call("/health/all", {
      headers: { authorization: `Bearer ${customer}`, "x-request-id": "req-customer-probe" },
    });
    expect(stranger.status).toBe(403);
    const wrongSecret = await call("/health/all", {
      headers: { authorization: `Bearer ${"x".repeat(40)}`, "x-request-id": "req-guessed-probe" },
    });
    expect(wrongSecret.status).toBe(401);
    const seen = await lastProbeRequestIds();
    for (const id of ["req-anonymous-probe", "req-customer-probe", "req-guessed-probe"]) expect(seen).not.toContain(id);
  });

  it("answers the monitor's probe credential and an operator, counted in the per-caller limit", async () => {
    await startInsideWindow(60);
    const probe = await call("/health/all", { headers: { authorization: `Bearer ${env.HEALTH_PROBE_TOKEN}` } });
    expect(probe.status).toBe(200);
    const first = await call("/health/all", asOperator());
    expect(first.status).toBe(200);
    const remaining = (response: Response) => Number(/r=(\d+)/.exec(response.headers.get("ratelimit") ?? "")?.[1]);
    expect(first.headers.get("ratelimit-policy")).toMatch(/^"api";q=\d+;w=60$/);
    const second = await call("/health/all", asOperator());
    expect(remaining(second)).toBe(remaining(first) - 1);
  });

  it("is refused with 429 once the caller's limit is spent", async () => {
    const busy = await signToken(key, claims({ sub: `usr_busy_${crypto.randomUUID()}`, scope: "operator" }));
    const limit = Number(env.RATE_LIMIT_API_PER_MINUTE);
    // A sliding window: a run that crosses a minute boundary may get a few more through, never fewer.
    let allowed = 0;
    let refused: Response | undefined;
    while (!refused && allowed < 2 * limit) {
      const response = await call("/health/all", { headers: { authorization: `Bearer ${busy}` } });
      await response.arrayBuffer();
      if (response.status === 429) refused = response;
      else if (response.status === 200) allowed += 1;
      else throw new Error(`unexpected ${response.status}`);
    }
    expect(allowed).toBeGreaterThanOrEqual(limit);
    expect(refused?.headers.get("retry-after")).toMatch(/^\d+$/);
  }, 120_000);
});

describe("GET /health/all", () => {
  it("is 200 when every service is ready, with each service's state", async () => {
    const response = await call("/health/all", asOperator());
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      status: string;
      services: Record<string, { status: string; version?: string }>;
    };
    expect(body.status).toBe("ready");
    expect(Object.keys(body.services).sort()).toEqual([...services].sort());
    for (const service of services)
      expect(body.services[service]).toMatchObject({ status: "ready", httpStatus: 200, version: "v1" });
  });

  it("is a 503 problem naming the services that are not ready, unreachable or too slow", async () => {
    await setBehaviours({ ledger: "not_ready", orders: "crash", payments: "hang" });
    const response = await call("/health/all", asOperator());
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await response.json()) as {
      code: string;
      detail: string;
      services: Record<string, { status: string; httpStatus?: number }>;
    };
    expect(problem.code).toBe("not_ready");
    expect(problem.detail).toBe("Not ready: payments, ledger, orders.");
    expect(problem.services.ledger?.status).toBe("not_ready");
    expect(problem.services.orders).toMatchObject({ status: "not_ready", httpStatus: 500 });
    expect(problem.services.payments?.status).toBe("unreachable");
    expect(problem.services.auth?.status).toBe("ready");
  });

  it("forwards the request id and the trace to every service", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await call(
      "/health/all",
      asOperator({ "x-request-id": "req-e2e-1", traceparent: `00-${traceId}-00f067aa0ba902b7-01` }),
    );
    const { seenHeaders: seen } = (await (await env.CONTROL.fetch("http://control/")).json()) as {
      seenHeaders: Record<string, Record<string, string>>;
    };
    for (const service of services) {
      expect(seen[service]?.["x-request-id"]).toBe("req-e2e-1");
      expect(seen[service]?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    }
  });
});

describe("gateway basics", () => {
  it("reports its own liveness and readiness", async () => {
    expect(await (await call("/health")).json()).toMatchObject({ status: "ok", service: "gateway" });
    expect((await call("/ready")).status).toBe(200);
  });

  it("answers an unknown route with a 404 problem", async () => {
    const response = await call("/v1/nothing-here", { method: "POST", body: "{" });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: "not_found", instance: "/v1/nothing-here" });
  });

  it("refuses a body over the size limit with a 413 problem", async () => {
    const response = await call("/v1/anything", { method: "POST", body: "x".repeat(70_000) });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: "payload_too_large" });
  });
});
