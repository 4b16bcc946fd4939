import { queryAnalyticsEngine } from "@edgebank/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevStack, gatewayRequest, session, startDevStack } from "./dev-stack.ts";
import { describePublicApi } from "./public-api.ts";
import { describeWebApp } from "./web-app.ts";

/**
 * Starts the local stack exactly as `npm run dev` does (same entry point, its own port, state
 * and databases), checks it as a client would, then (after all, in any test order) stops it
 * like Ctrl-C and checks that nothing it started is left running.
 */
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

let stack: DevStack;
let url = "";

beforeAll(async () => {
  stack = await startDevStack("e2e");
  url = stack.url;
}, 120_000);

// Stopping is the last thing done with the stack, whatever order its tests ran in: Ctrl-C must
// stop everything it started.
afterAll(async () => {
  try {
    const exit = new Promise<number | null>((resolve) => stack.child.once("exit", (code) => resolve(code)));
    stack.child.kill("SIGINT");
    expect(await exit).toBe(0);
    expect(() => process.kill(-stack.wranglerGroup, 0)).toThrow(/ESRCH/);
    await expect(fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  } finally {
    await stack.kill();
  }
}, 30_000);

describePublicApi(() => stack);
describeWebApp(() => stack);

describe("npm run dev", () => {
  it("reports every service ready through the gateway, to operators only; liveness is public", async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const anonymous = await fetch(`${url}/health/all`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("content-type")).toBe("application/problem+json");
    const operator = await session(url, stack.operator.email, stack.operator.password, "192.0.2.30");
    const response = await fetch(`${url}/health/all`, { headers: { authorization: `Bearer ${operator}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get("ratelimit-policy")).toMatch(/^"api";/);
    const body = (await response.json()) as { status: string; services: Record<string, { status: string }> };
    expect(body.status).toBe("ready");
    expect(Object.keys(body.services).sort()).toEqual([...services].sort());
  });

  it("measures every request: the SQL API answers count and p95 per route and version", async () => {
    const calls = [
      ...Array.from({ length: 6 }, () => "/health"),
      ...Array.from({ length: 4 }, () => `/v1/not-here-${crypto.randomUUID()}`),
      ...Array.from({ length: 3 }, () => "/.well-known/jwks.json"),
    ];
    for (const path of calls) {
      const response = await fetch(`${url}${path}`);
      expect(response.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
      await response.arrayBuffer();
    }
    type Row = { route: string; version: string; requests: string; p95: number };
    const read = () =>
      queryAnalyticsEngine<Row>(
        stack.cloudflareApi,
        `SELECT blob3 AS route, blob2 AS version, count() AS requests,
                quantileWeighted(0.95, double1, _sample_interval) AS p95
           FROM edgebank_metrics
          WHERE index1 = 'http_request' AND blob1 = 'gateway' AND timestamp > NOW() - INTERVAL '10' MINUTE
          GROUP BY route, version ORDER BY route`,
      );
    let rows: Row[] = [];
    const count = (route: string) => Number(rows.find((row) => row.route === route)?.requests ?? 0);
    for (let attempt = 0; attempt < 40; attempt++) {
      rows = (await read()).data;
      if (count("/health") >= 6 && count("unmatched") >= 4 && count("/.well-known/jwks.json") >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(count("/health")).toBeGreaterThanOrEqual(6);
    expect(count("unmatched")).toBeGreaterThanOrEqual(4); // 404s: one bounded label, not one per path
    expect(count("/.well-known/jwks.json")).toBeGreaterThanOrEqual(3);
    expect(rows.some((row) => row.route.includes("not-here"))).toBe(false);
    for (const row of rows) {
      expect(row.version).not.toBe("");
      expect(Number.isFinite(row.p95)).toBe(true);
    }
  });

  it("tells operators each consumer's position and lag, measured as it runs", async () => {
    const operator = await session(url, stack.operator.email, stack.operator.password, "192.0.2.31");
    type Status = { name: string; running: boolean; lag: { records: number; at: string } | null };
    let items: Status[] = [];
    for (const deadline = Date.now() + 45_000; Date.now() < deadline; ) {
      const answer = await gatewayRequest(url, "/v1/notifications/consumers", operator);
      items = ((await answer.json()) as { items: Status[] }).items;
      if (items.length > 0 && items.every((item) => item.lag !== null)) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    expect(items.map((item) => item.name).sort()).toEqual(
      ["edgebank.accounts", "edgebank.delivery", "edgebank.orders", "edgebank.payments", "edgebank.transfers"].map(
        (topic) => `notifications/${topic}`,
      ),
    );
    for (const item of items) {
      expect(item, item.name).toMatchObject({ running: true, lag: { records: expect.any(Number) } });
      expect(item.lag?.records, item.name).toBeGreaterThanOrEqual(0);
      expect(Date.now() - Date.parse(item.lag?.at ?? "")).toBeLessThan(60_000);
    }
  }, 60_000);

  it("answers an unknown route with a 404 problem and a request id", async () => {
    const response = await fetch(`${url}/v1/no-such-route`);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await response.json()) as { code: string; requestId: string };
    expect(problem.code).toBe("not_found");
    expect(problem.requestId).toBe(response.headers.get("x-request-id"));
  });

  it("lets a new user register, log in, call an authenticated route, refresh, and be throttled", async () => {
    const email = `e2e.${Date.now()}@example.test`;
    const password = "a long enough passphrase";
    const register = await fetch(`${url}/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    expect(register.status).toBe(201);

    const token = (params: Record<string, string>) =>
      fetch(`${url}/v1/auth/token`, {
        method: "POST",
        body: new URLSearchParams({ client_id: "edgebank-app", ...params }),
      });
    const login = await token({ grant_type: "password", username: email, password });
    expect(login.status).toBe(200);
    const tokens = (await login.json()) as { access_token: string; refresh_token: string };

    const me = await fetch(`${url}/v1/auth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email, role: "customer" });
    expect(me.headers.get("ratelimit-policy")).toBe('"api";q=600;w=60');
    expect((await fetch(`${url}/v1/auth/userinfo`)).status).toBe(401);

    const refreshed = await token({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);

    // Auth endpoints allow 20 calls a minute per client IP; register, login and refresh used 3.
    // A sliding window never refuses before the 21st call; across a window boundary its
    // estimate may let a few more through, so keep calling until the first refusal.
    const statuses: number[] = [];
    let throttled: Response | undefined;
    while (!throttled && statuses.length < 40) {
      const response = await token({ grant_type: "password", username: email, password: "wrong" });
      statuses.push(response.status);
      if (response.status === 429) throttled = response;
    }
    expect(statuses.length).toBeGreaterThanOrEqual(18);
    expect(statuses.slice(0, -1).every((status) => status === 400)).toBe(true);
    expect(throttled?.status).toBe(429);
    expect(Number(throttled?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(throttled?.headers.get("ratelimit")).toMatch(/^"auth";r=0;t=\d+$/);
  }, 60_000);

  it("opens an account through the gateway that only its owner can see", async () => {
    const owner = await session(url, `e2e.owner.${Date.now()}@example.test`, "another long passphrase", "192.0.2.10");
    const stranger = await session(
      url,
      `e2e.stranger.${Date.now()}@example.test`,
      "another long passphrase",
      "192.0.2.11",
    );
    const open = () =>
      fetch(`${url}/v1/accounts`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${owner}`,
          "content-type": "application/json",
          "idempotency-key": "open-eur-1",
        },
        body: JSON.stringify({ currency: "EUR" }),
      });
    const opened = await open();
    expect(opened.status).toBe(201);
    const account = (await opened.json()) as { id: string };
    const retried = await open();
    expect(retried.headers.get("idempotent-replayed")).toBe("true");
    expect(((await retried.json()) as { id: string }).id).toBe(account.id);

    const balance = await fetch(`${url}/v1/accounts/${account.id}/balance`, {
      headers: { authorization: `Bearer ${owner}` },
    });
    expect(await balance.json()).toMatchObject({ available: "0", currency: "EUR" });
    const peek = await fetch(`${url}/v1/accounts/${account.id}/balance`, {
      headers: { authorization: `Bearer ${stranger}` },
    });
    expect(peek.status).toBe(404);
  }, 60_000);

  it("runs the production builds: a request's X-Test-* headers arm no fault", async () => {
    const owner = await session(url, `e2e.faults.${Date.now()}@example.test`, "another long passphrase", "192.0.2.12");
    const call = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${owner}`,
          "content-type": "application/json",
          "idempotency-key": crypto.randomUUID(),
          ...headers,
        },
        body: JSON.stringify(body),
      });
    const opened = await Promise.all([
      call("/v1/accounts", { currency: "EUR" }),
      call("/v1/accounts", { currency: "EUR" }),
    ]);
    const [from, to] = (await Promise.all(opened.map((response) => response.json()))) as Array<{ id: string }>;
    // A test build would throw in the route (500) or crash the saga (202); this one refuses the
    // transfer for what it is, at once: the source holds nothing.
    for (const headers of [
      { "x-test-crash-at": "route:throw" },
      { "x-test-crash-at": "hold:before" },
      { "x-test-crash-at": "teleport:before" },
    ]) {
      const response = await call(
        "/v1/transfers",
        { fromAccountId: from?.id, toAccountId: to?.id, amount: "100", currency: "EUR", description: "no faults here" },
        headers,
      );
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ code: "unprocessable", reason: "insufficient_funds" });
    }
  }, 60_000);
});
