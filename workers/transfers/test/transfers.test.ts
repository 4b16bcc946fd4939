import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, serviceSecurityTarget, testCaller } from "@edgebank/auth/testing";
import { flowShard } from "@edgebank/durable-objects/flow";
import { newId } from "@edgebank/ids";
import { describe, expect, it } from "vitest";
import { sagaOf } from "../src/service.ts";

/**
 * The transfers service on its own: its edges (authentication, input, idempotency key) and its
 * behaviour when the services it depends on are down. The sagas themselves run against the
 * real accounts and ledger services in test/e2e/transfers.e2e.test.ts.
 */
function call(path: string, token: string | undefined, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  return exports.default.fetch(new Request(`https://transfers.internal${path}`, { ...init, headers }));
}

const customer = () => testCaller(env, "accounts:read accounts:write transfers:read transfers:write");

function post(token: string, body: unknown, key?: string) {
  return call("/v1/transfers", token, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify(body),
  });
}

const body = () => ({
  fromAccountId: newId("account"),
  toAccountId: newId("account"),
  amount: "100",
  currency: "EUR",
  description: "rent",
});

describeAccessTokenSecurity(
  "transfers service (direct)",
  serviceSecurityTarget(env, "transfers:read", (authorization) =>
    call("/v1/transfers", undefined, { headers: authorization ? { authorization } : {} }),
  ),
);

describe("POST /v1/transfers at the edges", () => {
  it("requires an Idempotency-Key and a well-formed body", async () => {
    const { token } = await customer();
    expect((await post(token, body())).status).toBe(400);
    for (const bad of [
      { ...body(), amount: "0" },
      { ...body(), amount: "1.50" },
      { ...body(), currency: "euro" },
      { ...body(), fromAccountId: "not-an-account" },
      { ...body(), description: "" },
    ]) {
      expect((await post(token, bad, crypto.randomUUID())).status, JSON.stringify(bad)).toBe(400);
    }
  });

  it("refuses a transfer to the same account, and callers without transfers:write", async () => {
    const { token } = await customer();
    const same = { ...body() };
    same.toAccountId = same.fromAccountId;
    const refused = await post(token, same, "same-1");
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ reason: "same_account" });
    const reader = await testCaller(env, "transfers:read");
    expect((await post(reader.token, body(), "reader-1")).status).toBe(403);
  });

  it("with the accounts service unavailable, accepts the transfer (202) and keeps trying its hold", async () => {
    // Nothing is read before the saga: its hold checks ownership and currency as it holds, and
    // retries while accounts is down (giving up fails it with nothing moved).
    const caller = await customer();
    const response = await post(caller.token, body(), "down-1");
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string; status: string; step: string };
    expect(accepted).toMatchObject({ status: "PENDING", step: "hold" });
    expect(response.headers.get("location")).toBe(`/v1/transfers/${accepted.id}`);
    const list = (await (await call("/v1/transfers", caller.token)).json()) as { items: Array<{ id: string }> };
    expect(list.items.map((item) => item.id)).toEqual([accepted.id]);
  });

  it("is the production build: a request's X-Test-* headers arm no fault (the e2e suites run test/faults-entry.ts)", async () => {
    const caller = await customer();
    for (const point of ["route:throw", "teleport:before", "hold:before"]) {
      const response = await call("/v1/transfers", caller.token, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "idempotency-key": crypto.randomUUID(),
          "x-test-crash-at": point,
        },
        body: JSON.stringify(body()),
      });
      // As without the header: accepted, its hold retried while accounts is down (a test build
      // answers 500, 400 and 202-after-a-crash).
      expect(response.status, point).toBe(202);
      expect(await response.json()).toMatchObject({ status: "PENDING", step: "hold" });
    }
  });

  it("hosts many sagas in one object: two that share a shard keep their own states, and its one alarm retries both", async () => {
    const caller = await customer();
    // Transfers until two land in the same host (64 shards: a handful of tries).
    const byShard = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let attempt = 0; attempt < 200 && !pair; attempt++) {
      const response = await post(caller.token, body(), crypto.randomUUID());
      expect(response.status).toBe(202);
      const { id } = (await response.json()) as { id: string };
      const other = byShard.get(flowShard(id));
      if (other) pair = [other, id];
      byShard.set(flowShard(id), id);
    }
    if (!pair) throw new Error("no two transfers shared a shard");
    // Accounts is down: each hold keeps failing, and only the host's alarm runs the retries now
    // (each adds to its flow's history).
    const states = async () => Promise.all(pair.map((id) => sagaOf(env, id).outcome()));
    const before = (await states()).map((state) => state?.history.length ?? 0);
    let both = await states();
    const grown = () => both.every((state, index) => (state?.history.length ?? 0) > (before[index] ?? 0));
    for (let wait = 0; wait < 60 && !grown(); wait++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      both = await states();
    }
    expect(grown()).toBe(true);
    for (const [index, state] of both.entries()) {
      expect(state).toMatchObject({ status: "RUNNING", subject: { id: pair[index], amount: "100" } });
    }
  });

  it("lists and reads only the caller's own transfers", async () => {
    const { token } = await customer();
    expect((await call(`/v1/transfers/${newId("transfer")}`, token)).status).toBe(404);
    expect((await call("/v1/transfers?status=SOMETHING", token)).status).toBe(400);
  });
});
