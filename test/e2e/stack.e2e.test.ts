import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevStack, session, startDevStack } from "./dev-stack.ts";

/**
 * Starts the local stack exactly as `npm run dev` does (same entry point, its own port, state
 * and databases), checks it as a client would, then (after all, in any test order) stops it
 * like Ctrl-C and checks that nothing it started is left running.
 */
const services = ["auth", "accounts", "transfers", "payments", "ledger", "notifications", "orders", "inventory"];

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

  it("answers an unknown route with a 404 problem and a request id", async () => {
    const response = await fetch(`${url}/v1/no-such-route`);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await response.json()) as { code: string; requestId: string };
    expect(problem.code).toBe("not_found");
    expect(problem.requestId).toBe(response.headers.get("x-request-id"));
  });

  it("serves the gateway's OpenAPI document", async () => {
    const document = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toContain("/health/all");
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
});
