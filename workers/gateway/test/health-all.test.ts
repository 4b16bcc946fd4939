import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";

const services = ["auth", "accounts", "transfers", "payments", "ledger", "notifications", "orders", "inventory"];

function setBehaviours(behaviours: Record<string, string>) {
  return env.CONTROL.fetch("http://control/", { method: "POST", body: JSON.stringify({ behaviours }) });
}

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`https://api.edgebank.test${path}`, init));

beforeEach(async () => {
  await setBehaviours({});
});

describe("GET /health/all", () => {
  it("is 200 when every service is ready, with each service's state", async () => {
    const response = await call("/health/all");
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
    const response = await call("/health/all");
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
    await call("/health/all", {
      headers: { "x-request-id": "req-e2e-1", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
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
