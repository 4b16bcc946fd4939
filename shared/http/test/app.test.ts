import { AppError } from "@edgebank/errors";
import { createRoute, z } from "@hono/zod-openapi";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AppEnv, createApp, propagationHeaders, registerHealth } from "../src/index.ts";

const settings = () => ({
  ENVIRONMENT: "test",
  SERVICE_VERSION: "v-test",
  LOG_LEVEL: "info" as const,
  MAX_BODY_BYTES: 64,
  OTEL_TRACES_SAMPLER_ARG: 1,
});
let logs: Array<Record<string, unknown>> = [];

beforeEach(() => {
  logs = [];
  vi.spyOn(console, "log").mockImplementation((line: string) => logs.push(JSON.parse(line)));
});
afterEach(() => vi.restoreAllMocks());

function buildApp() {
  const app = createApp<AppEnv>({ service: "demo", settings });
  app.openapi(
    createRoute({
      method: "post",
      path: "/things",
      request: { body: { content: { "application/json": { schema: z.object({ name: z.string().min(1) }) } } } },
      responses: { 201: { description: "Created" } },
    }),
    (c) => c.json({ name: c.req.valid("json").name }, 201),
  );
  app.get("/boom", () => {
    throw new Error("database password is hunter2");
  });
  app.get("/conflict", () => {
    throw new AppError("conflict", "Already exists.");
  });
  app.get("/propagate", (c) => c.json(propagationHeaders(c)));
  return app;
}

async function problem(response: Response) {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return (await response.json()) as Record<string, unknown>;
}

describe("createApp", () => {
  it("labels a problem as plain JSON for a client that accepts JSON only (OAuth libraries)", async () => {
    const app = buildApp();
    const plain = await app.request("/conflict", { headers: { accept: "application/json" } });
    expect(plain.status).toBe(409);
    expect(plain.headers.get("content-type")).toBe("application/json");
    expect(await plain.json()).toMatchObject({ status: 409, code: "conflict", detail: "Already exists." });
    for (const accept of ["application/problem+json, application/json", "application/json, */*;q=0.1", ""]) {
      const response = await app.request("/conflict", { headers: accept ? { accept } : {} });
      expect(response.headers.get("content-type"), accept).toBe("application/problem+json");
    }
  });

  it("writes one RED data point per request: route pattern, method, status class, duration, version id", async () => {
    const points: Array<{ indexes?: string[]; blobs?: string[]; doubles?: number[] }> = [];
    const env = {
      METRICS: { writeDataPoint: (point: (typeof points)[number]) => points.push(point) },
      CF_VERSION_METADATA: { id: "ver-42" },
    };
    const app = buildApp();
    app.get("/things/:id", (c) => c.json({ id: c.req.param("id") }));
    await app.request("/things/abc", {}, env);
    await app.request("/things/def", {}, env);
    await app.request("/conflict", {}, env);
    await app.request("/nowhere/at/all", {}, env);
    expect(points.map((point) => [point.indexes?.[0], ...(point.blobs ?? [])])).toEqual([
      ["http_request", "demo", "ver-42", "/things/:id", "GET", "2xx"],
      ["http_request", "demo", "ver-42", "/things/:id", "GET", "2xx"],
      ["http_request", "demo", "ver-42", "/conflict", "GET", "4xx"],
      ["http_request", "demo", "ver-42", "unmatched", "GET", "4xx"],
    ]);
    expect(points.map((point) => point.doubles?.[1])).toEqual([200, 200, 409, 404]);
    expect(points.every((point) => (point.doubles?.[0] ?? -1) >= 0)).toBe(true);
  });

  it("serves a valid request and echoes a generated request id", async () => {
    const response = await buildApp().request("/things", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x" }),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-request-id")).toMatch(/^req_[0-9a-z]{26}$/);
  });

  it("answers malformed JSON with a 400 problem carrying the request id", async () => {
    const response = await buildApp().request("/things", {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-from-gateway" },
      body: '{"name": ',
    });
    expect(response.status).toBe(400);
    const body = await problem(response);
    expect(body).toMatchObject({
      code: "malformed_json",
      status: 400,
      instance: "/things",
      requestId: "req-from-gateway",
    });
  });

  it("answers malformed JSON with 400 on any route, even one that takes no body", async () => {
    const response = await buildApp().request("/conflict", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(response.status).toBe(400);
    expect((await problem(response)).code).toBe("malformed_json");
  });

  it("renders zod failures as validation_failed with pointers", async () => {
    const response = await buildApp().request("/things", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "" }),
    });
    expect(response.status).toBe(400);
    const body = await problem(response);
    expect(body.code).toBe("validation_failed");
    expect(body.errors).toEqual([expect.objectContaining({ pointer: "/name", in: "body" })]);
  });

  it("answers unknown routes with a 404 problem", async () => {
    const response = await buildApp().request("/nope?x=1");
    expect(response.status).toBe(404);
    expect(await problem(response)).toMatchObject({
      code: "not_found",
      detail: "No route matches GET /nope.",
      instance: "/nope",
    });
  });

  it("renders AppErrors with their status", async () => {
    const response = await buildApp().request("/conflict");
    expect(response.status).toBe(409);
    expect((await problem(response)).detail).toBe("Already exists.");
  });

  it("hides crashes behind a generic 500 and logs the details", async () => {
    const response = await buildApp().request("/boom");
    expect(response.status).toBe(500);
    const text = JSON.stringify(await problem(response));
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("stack");
    const errorLog = logs.find((line) => line.level === "error");
    expect(errorLog).toMatchObject({
      msg: "request failed",
      errorMessage: "database password is hunter2",
      service: "demo",
    });
  });

  it("refuses bodies over the limit with a 413 problem", async () => {
    const response = await buildApp().request("/things", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x".repeat(100) }),
    });
    expect(response.status).toBe(413);
    expect((await problem(response)).code).toBe("payload_too_large");
  });

  it("sets security headers", async () => {
    const response = await buildApp().request("/nope");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("strict-transport-security")).toContain("max-age=");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(response.headers.get("x-frame-options")).toBe("SAMEORIGIN");
  });

  it("writes one JSON access-log line per request with ids, status and duration", async () => {
    await buildApp().request("/nope", { headers: { "x-request-id": "abc" } });
    const access = logs.filter((line) => line.msg === "request");
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      level: "info",
      service: "demo",
      version: "v-test",
      requestId: "abc",
      method: "GET",
      path: "/nope",
      status: 404,
    });
    expect(access[0]?.durationMs).toEqual(expect.any(Number));
    expect(access[0]?.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("replaces request ids that are not safe to log", async () => {
    const response = await buildApp().request("/nope", { headers: { "x-request-id": 'bad id {"level":"error"}' } });
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("continues the caller's trace and propagates it with its own span", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await buildApp().request("/propagate", {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, "x-request-id": "r1" },
    });
    const headers = (await response.json()) as Record<string, string>;
    expect(headers["x-request-id"]).toBe("r1");
    expect(headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(headers.traceparent).not.toContain("00f067aa0ba902b7");
  });

  it("publishes its OpenAPI document", async () => {
    const app = buildApp();
    registerHealth(app, { service: "demo", settings, checks: {} });
    const doc = (await (await app.request("/openapi.json")).json()) as {
      openapi: string;
      info: { version: string };
      paths: object;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toBe("v-test");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/things", "/health", "/ready"]));
  });
});

describe("registerHealth", () => {
  function healthApp(check: () => Promise<Record<string, number | string> | undefined>) {
    const app = createApp<AppEnv>({ service: "demo", settings });
    registerHealth(app, { service: "demo", settings, checks: { database: check }, timeoutMs: 50 });
    return app;
  }

  it("reports liveness without running checks", async () => {
    const check = vi.fn(async () => undefined);
    const response = await healthApp(check).request("/health");
    expect(await response.json()).toEqual({ status: "ok", service: "demo", version: "v-test" });
    expect(check).not.toHaveBeenCalled();
  });

  it("is ready when every check passes", async () => {
    const response = await healthApp(async () => undefined).request("/ready");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ready", checks: { database: { status: "up" } } });
  });

  it("shows what an up check reports about itself", async () => {
    const response = await healthApp(async () => ({ outboxPending: 3 })).request("/ready");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      checks: { database: { status: "up", details: { outboxPending: 3 } } },
    });
  });

  it("is not ready when a check fails, without leaking the error", async () => {
    const response = await healthApp(async () => {
      throw new Error("connect ECONNREFUSED 10.0.0.7:5432");
    }).request("/ready");
    expect(response.status).toBe(503);
    const body = await problem(response);
    expect(body).toMatchObject({ code: "not_ready", checks: { database: { status: "down", reason: "error" } } });
    expect(JSON.stringify(body)).not.toContain("10.0.0.7");
  });

  it("is not ready when a check hangs past its deadline", async () => {
    const response = await healthApp(() => new Promise(() => {})).request("/ready");
    expect(response.status).toBe(503);
    expect((await problem(response)).checks).toMatchObject({ database: { status: "down", reason: "timeout" } });
  });
});
