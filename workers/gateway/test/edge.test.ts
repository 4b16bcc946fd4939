import { env, exports } from "cloudflare:workers";
import { signToken } from "@edgebank/auth/testing";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { claims, issuerKey, publish } from "./keys.ts";
import { startInsideWindow } from "./rate-window.ts";

let token: string;
let key: Awaited<ReturnType<typeof issuerKey>>;

const call = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(new Request(`https://api.edgebank.test${path}`, init));
const authed = (headers: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...headers });

interface Echo {
  service: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
  call: number;
}

beforeAll(async () => {
  key = await issuerKey(`edge-${crypto.randomUUID()}`);
  await publish([key.publicJwk]);
  token = await signToken(key, claims());
});

beforeEach(async () => {
  await env.CONTROL.fetch("http://control/", { method: "DELETE" });
  await publish([key.publicJwk]);
});

describe("routing", () => {
  it("forwards method, path, query, body and caller to the owning service", async () => {
    const response = await call("/v1/accounts/acc_1/operations?limit=5", {
      headers: authed({ "x-request-id": "req-edge-1" }),
    });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    expect(echo).toMatchObject({
      service: "accounts",
      method: "GET",
      path: "/v1/accounts/acc_1/operations",
      query: "?limit=5",
    });
    expect(echo.headers.authorization).toBe(`Bearer ${token}`);
    expect(echo.headers["x-request-id"]).toBe("req-edge-1");
    expect(echo.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(response.headers.get("x-request-id")).toBe("req-edge-1");
  });

  it("sets the version-affinity key from the caller, never from the client", async () => {
    const echo = (await (
      await call("/v1/accounts", { headers: authed({ "cloudflare-workers-version-key": "attacker-chosen" }) })
    ).json()) as Echo;
    expect(echo.headers["cloudflare-workers-version-key"]).toBe("usr_alice");
  });

  it("passes a well-formed version override on to the service (a rollout's probes), nothing else in its place", async () => {
    const override = 'edgebank-accounts="2da53d9a-0b23-4d9a-9b5d-37896324cff1"';
    const passed = (await (
      await call("/v1/accounts", { headers: authed({ "cloudflare-workers-version-overrides": override }) })
    ).json()) as Echo;
    expect(passed.headers["cloudflare-workers-version-overrides"]).toBe(override);
    const malformed = (await (
      await call("/v1/accounts", { headers: authed({ "cloudflare-workers-version-overrides": "x=1; evil" }) })
    ).json()) as Echo;
    expect(malformed.headers["cloudflare-workers-version-overrides"]).toBeUndefined();
  });

  it("serves public routes without a token", async () => {
    const echo = (await (await call("/.well-known/openid-configuration")).json()) as Echo;
    expect(echo).toMatchObject({ service: "auth", path: "/.well-known/openid-configuration" });
  });

  it("answers routes outside the table with 404, and wrong methods too", async () => {
    expect((await call("/v1/secret-admin", { headers: authed() })).status).toBe(404);
    expect((await call("/v1/accounts", { method: "DELETE", headers: authed() })).status).toBe(404);
  });

  it("refuses a token whose scopes do not fit the route", async () => {
    const readOnly = await signToken(key, claims({ scope: "accounts:read" }));
    const response = await call("/v1/transfers", {
      method: "POST",
      headers: { authorization: `Bearer ${readOnly}`, "idempotency-key": crypto.randomUUID() },
      body: "{}",
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });
});

describe("rate limits", () => {
  it("limits auth endpoints per client IP: the 6th call in a minute gets 429 with headers", async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const attempt = () =>
      call("/v1/auth/token", {
        method: "POST",
        headers: { "cf-connecting-ip": ip, "content-type": "application/json" },
        body: "{}",
      });
    await startInsideWindow(60);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await attempt());
    expect(answers.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers[4]?.headers.get("ratelimit")).toMatch(/^"auth";r=0;t=\d+$/);
    const limited = answers[5];
    expect(limited?.status).toBe(429);
    expect(limited?.headers.get("content-type")).toBe("application/problem+json");
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited?.headers.get("ratelimit-policy")).toBe('"auth";q=5;w=60');
    expect(await limited?.json()).toMatchObject({ code: "rate_limited" });
    // Another client is not affected.
    const other = await call("/v1/auth/token", {
      method: "POST",
      headers: { "cf-connecting-ip": "203.0.113.7" },
      body: "{}",
    });
    expect(other.status).toBe(200);
  });

  it("counts the API per principal and says so in the headers", async () => {
    const response = await call("/v1/accounts", { headers: authed() });
    expect(response.headers.get("ratelimit-policy")).toBe('"api";q=600;w=60');
    expect(response.headers.get("ratelimit")).toMatch(/^"api";r=\d+;t=\d+$/);
  });
});

describe("Idempotency-Key", () => {
  const transfer = (key: string | undefined, body = '{"amount":"100"}') =>
    call("/v1/transfers", {
      method: "POST",
      headers: authed({ "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) }),
      body,
    });

  it("is required on money-moving POSTs", async () => {
    const response = await transfer(undefined);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toContain("Idempotency-Key");
  });

  it("replays the first response for a retry, without calling the service again", async () => {
    const idempotencyKey = crypto.randomUUID();
    const first = await transfer(idempotencyKey);
    const firstBody = (await first.json()) as Echo;
    const replay = await transfer(idempotencyKey);
    expect(replay.status).toBe(first.status);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.json()).toEqual(firstBody);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
  });

  it("refuses the same key with a different request (422)", async () => {
    const idempotencyKey = crypto.randomUUID();
    await transfer(idempotencyKey, '{"amount":"100"}');
    const other = await transfer(idempotencyKey, '{"amount":"999"}');
    expect(other.status).toBe(422);
  });

  it("answers 409 while the first request is still running", async () => {
    await env.CONTROL.fetch("http://control/", { method: "POST", body: JSON.stringify({ echoDelayMs: 400 }) });
    const idempotencyKey = crypto.randomUUID();
    const [a, b] = await Promise.all([
      transfer(idempotencyKey),
      new Promise((r) => setTimeout(r, 100)).then(() => transfer(idempotencyKey)),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
  });

  it("scopes keys to the caller", async () => {
    const idempotencyKey = crypto.randomUUID();
    await transfer(idempotencyKey);
    const bob = await signToken(key, claims({ sub: "usr_bob" }));
    const response = await call("/v1/transfers", {
      method: "POST",
      headers: {
        authorization: `Bearer ${bob}`,
        "content-type": "application/json",
        "idempotency-key": idempotencyKey,
      },
      body: '{"amount":"100"}',
    });
    expect(response.headers.get("idempotent-replayed")).toBeNull();
    expect(((await response.json()) as Echo).headers["cloudflare-workers-version-key"]).toBe("usr_bob");
  });

  it("releases the key when the service fails, so the client can retry", async () => {
    await env.CONTROL.fetch("http://control/", { method: "POST", body: JSON.stringify({ echoStatus: 503 }) });
    const idempotencyKey = crypto.randomUUID();
    expect((await transfer(idempotencyKey)).status).toBe(503);
    await env.CONTROL.fetch("http://control/", { method: "POST", body: JSON.stringify({ echoStatus: 201 }) });
    const retry = await transfer(idempotencyKey);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
  });

  it("keeps only final answers: a lost first answer, then 'in progress', then the real outcome replayed", async () => {
    // PostgreSQL restarted under the first request: it answered 500, yet its transfer went on
    // and completed. The first retry arrives while the service still holds the key; the next
    // finds the transfer settled and gets its outcome.
    const completed = { id: "trf_1", status: "COMPLETED" };
    const answers = [
      { status: 500, body: { code: "internal" } },
      {
        status: 409,
        body: { code: "idempotency_in_progress", status: 409 },
        headers: { "content-type": "application/problem+json", "retry-after": "1" },
      },
      { status: 202, body: { id: "trf_1", status: "PENDING" }, headers: { "retry-after": "1" } },
      { status: 201, body: completed, headers: { "idempotent-replayed": "true" } },
    ];
    await env.CONTROL.fetch("http://control/", { method: "POST", body: JSON.stringify({ answers }) });
    const idempotencyKey = crypto.randomUUID();
    expect((await transfer(idempotencyKey)).status).toBe(500);
    const inProgress = await transfer(idempotencyKey);
    expect(inProgress.status).toBe(409);
    expect(((await inProgress.json()) as { code: string }).code).toBe("idempotency_in_progress");
    expect((await transfer(idempotencyKey)).status).toBe(202);
    const outcome = await transfer(idempotencyKey);
    expect(outcome.status).toBe(201);
    expect(outcome.headers.get("idempotent-replayed")).toBe("true");
    expect(await outcome.json()).toEqual(completed);
    // That outcome is the key's answer from now on, replayed by the gateway without the service.
    const { calls: before } = (await (await env.CONTROL.fetch("http://control/")).json()) as {
      calls: Record<string, number>;
    };
    const replay = await transfer(idempotencyKey);
    expect(replay.status).toBe(201);
    expect(await replay.json()).toEqual(completed);
    const { calls: after } = (await (await env.CONTROL.fetch("http://control/")).json()) as {
      calls: Record<string, number>;
    };
    expect(after.transfers).toBe(before.transfers);
  });
});

describe("CORS", () => {
  it("answers a preflight from an allowed origin", async () => {
    const response = await call("/v1/transfers", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.edgebank.test",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,idempotency-key",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.edgebank.test");
    expect(response.headers.get("access-control-allow-headers")).toContain("idempotency-key");
  });

  it("grants nothing to other origins", async () => {
    const response = await call("/v1/accounts", { headers: authed({ origin: "https://evil.example" }) });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("signing-key rotation at the edge", () => {
  const get = (token: string) => call("/v1/accounts", { headers: { authorization: `Bearer ${token}` } });

  it("accepts the new key at once, keeps the previous one until it retires, then refuses it", async () => {
    const previous = await issuerKey(`rot-prev-${crypto.randomUUID()}`);
    const next = await issuerKey(`rot-next-${crypto.randomUUID()}`);
    await publish([previous.publicJwk]);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // let the gateway's JWKS cache expire
    const oldToken = await signToken(previous, claims());
    expect((await get(oldToken)).status).toBe(200);

    // Rotation: auth publishes the new key and signs with it. No gateway restart.
    await publish([previous.publicJwk, next.publicJwk]);
    expect((await get(await signToken(next, claims()))).status).toBe(200);
    expect((await get(oldToken)).status).toBe(200);

    // Retirement: the previous key leaves the JWKS once its tokens have expired.
    await publish([next.publicJwk]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await get(oldToken)).status).toBe(401);
    expect((await get(await signToken(next, claims()))).status).toBe(200);
  });
});

describe("rate-limit classes", () => {
  it("keeps public documents out of the credentials bucket", async () => {
    const ip = "198.51.100.250";
    for (let i = 0; i < 6; i++)
      await call("/v1/auth/token", { method: "POST", headers: { "cf-connecting-ip": ip }, body: "{}" });
    const jwks = await call("/.well-known/jwks.json", { headers: { "cf-connecting-ip": ip } });
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get("ratelimit-policy")).toBe('"public";q=300;w=60');
  });
});

describe("the API document", () => {
  it("is a 503 problem, not a partial document, when a service does not describe itself", async () => {
    // The stand-in services echo every path, /openapi.json included: no document among them.
    const response = await call("/openapi.json", { headers: { "cf-connecting-ip": "192.0.2.90" } });
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("retry-after")).toBe("5");
    const problem = (await response.json()) as { code: string; detail: string };
    expect(problem.code).toBe("dependency_unavailable");
    expect(problem.detail).toMatch(/incomplete: auth, accounts, .*delivery did not answer/);
  });
});

describe("the web pages", () => {
  it.each(["/app", "/console", "/docs"])(
    "serves %s from the web Worker without a token, and nothing but GET",
    async (section) => {
      const page = await call(`${section}/accounts?tab=1`);
      expect(page.status).toBe(200);
      expect(await page.json()).toMatchObject({ service: "web", path: `${section}/accounts`, query: "?tab=1" });
      const redirect = await call(section, { redirect: "manual" });
      expect(redirect.status).toBe(308);
      expect(redirect.headers.get("location")).toBe(`${section}/`);
      expect((await call(`${section}/`, { method: "POST" })).status).toBe(404);
    },
  );
});
