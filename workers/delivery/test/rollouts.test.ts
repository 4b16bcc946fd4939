import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import { resultRows, withDatabase } from "@edgebank/db";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { rolloutObject, workerOf } from "../src/service.ts";

/**
 * Rollouts through the delivery worker against its real database and the Cloudflare API
 * stand-in (deployments, Analytics Engine SQL); the probes reach a stand-in gateway that answers
 * only requests carrying the version override, and the ledger's audit is a stand-in contract.
 */
const api = `${env.CLOUDFLARE_API_BASE_URL}/accounts/${env.CLOUDFLARE_ACCOUNT_ID}`;
const authorization = { authorization: `Bearer ${env.CLOUDFLARE_API_TOKEN}` };

/** A Worker as `wrangler deploy` leaves it (one version at 100 %), and a new version uploaded beside it. */
async function workerWithNewVersion(service: string): Promise<{ worker: string; stable: string; canary: string }> {
  const worker = workerOf(env, service);
  const upload = (method: string, path: string) => {
    const form = new FormData();
    form.set("metadata", JSON.stringify({ main_module: "index.js", annotations: { "workers/message": "test" } }));
    form.set("index.js", new Blob(["export default {}"], { type: "application/javascript+module" }), "index.js");
    return fetch(`${api}/workers/scripts/${worker}${path}`, { method, headers: authorization, body: form });
  };
  expect((await upload("PUT", "")).status).toBe(200);
  const uploaded = (await (await upload("POST", "/versions")).json()) as { result: { id: string } };
  const split = await deployment(worker);
  const stable = split[0]?.version_id ?? "";
  return { worker, stable, canary: uploaded.result.id };
}

async function deployment(worker: string): Promise<{ version_id: string; percentage: number }[]> {
  const response = await fetch(`${api}/workers/scripts/${worker}/deployments`, { headers: authorization });
  const body = (await response.json()) as {
    result: { deployments: { versions: { version_id: string; percentage: number }[] }[] };
  };
  return body.result.deployments[0]?.versions ?? [];
}

/** Data points as the Workers write them (docs/metrics.md), through the stand-in's development ingest. */
async function traffic(service: string, version: string, requests: number, failing: number, ms = 20) {
  const points = Array.from({ length: requests }, (_, i) => {
    const status = i < failing ? 500 : 201;
    return {
      indexes: ["http_request"],
      blobs: [service, version, "POST /v1/transfers", "POST", `${status / 100 >= 5 ? "5" : "2"}xx`],
      doubles: [ms, status],
    };
  });
  const response = await fetch(
    `${env.CLOUDFLARE_API_BASE_URL.replace(/\/client\/v4$/, "")}/dev/analytics-engine/${env.METRICS_DATASET}`,
    {
      method: "POST",
      body: JSON.stringify(points),
    },
  );
  expect(response.status).toBe(204);
}

const call = (path: string, token: string, init: RequestInit & { key?: string } = {}) => {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  if (init.body) headers.set("content-type", "application/json");
  if (init.key) headers.set("idempotency-key", init.key);
  return exports.default.fetch(new Request(`http://delivery.internal${path}`, { ...init, headers }));
};
const operator = () => testCaller(env, "operator");

/** A short plan: probes, then 50 % and 100 %, each held a second and judged on 20 requests. */
const plan = {
  probes: ["sign_in", "balance", "transfer", "order"],
  steps: [
    { percentage: 50, holdSeconds: 1, minRequests: 20 },
    { percentage: 100, holdSeconds: 1, minRequests: 20 },
  ],
  maxInconclusive: 2,
};

interface RolloutView {
  id: string;
  status: string;
  canaryPercentage: number;
  reason: string | null;
  history: { kind: string; by: string; detail: string; verdict?: string }[];
}

async function startRollout(service: string, versionId: string, token: string): Promise<RolloutView> {
  const response = await call("/v1/operations/rollouts", token, {
    method: "POST",
    body: JSON.stringify({ service, versionId, plan }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as RolloutView;
}

/** Lets the rollout's alarm run (after its step's hold, when it waits). */
async function tick(id: string, waitMs = 0): Promise<RolloutView> {
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  await runDurableObjectAlarm(rolloutObject(env, id));
  const { token } = await operator();
  return (await (await call(`/v1/operations/rollouts/${id}`, token)).json()) as RolloutView;
}

async function outboxOf(id: string) {
  return withDatabase(
    { driver: "hyperdrive", connectionString: env.DELIVERY_DB.connectionString, prepare: env.DB_PREPARE === "true" },
    async (db) =>
      resultRows<{ type: string; payload: { reason: string; canaryVersionId: string } }>(
        await db.execute(sql`select type, payload from delivery.outbox where aggregate_id = ${id} order by id`),
      ),
  );
}

describe("a rollout", () => {
  it("probes the new version at 0 %, steps it up on healthy figures, and promotes it", async () => {
    const { worker, stable, canary } = await workerWithNewVersion("payments");
    const { token } = await operator();
    const started = await startRollout("payments", canary, token);
    expect(started).toMatchObject({ status: "PROBING", canaryPercentage: 0 });

    let view = await tick(started.id);
    expect(view).toMatchObject({ status: "STEPPING", canaryPercentage: 50 });
    expect(view.history.find((entry) => entry.kind === "probes")?.detail).toBe("4 probe(s) passed");
    expect(await deployment(worker)).toEqual([
      { version_id: stable, percentage: 50 },
      { version_id: canary, percentage: 50 },
    ]);

    await traffic("payments", stable, 40, 0);
    await traffic("payments", canary, 40, 0);
    view = await tick(started.id, 1_100);
    expect(view).toMatchObject({ status: "STEPPING", canaryPercentage: 100 });
    // Each step is judged on its own window: the last one on the traffic it served.
    await traffic("payments", canary, 40, 0);
    view = await tick(started.id, 1_100);
    expect(view).toMatchObject({ status: "PROMOTED", canaryPercentage: 100 });
    expect(await deployment(worker)).toEqual([{ version_id: canary, percentage: 100 }]);
    expect((await outboxOf(started.id)).map((event) => event.type)).toEqual(["RolloutPromoted"]);
  });

  it("rolls a version that fails a fifth of its requests back on its own, with the event and the figures", async () => {
    const { worker, stable, canary } = await workerWithNewVersion("transfers");
    const { token } = await operator();
    const started = await startRollout("transfers", canary, token);
    await tick(started.id);
    await traffic("transfers", stable, 50, 0);
    await traffic("transfers", canary, 50, 10);
    const view = await tick(started.id, 1_100);
    expect(view).toMatchObject({ status: "ROLLED_BACK", canaryPercentage: 0 });
    expect(view.reason).toBe("5xx ratio 20.00 % is above the 1.00 % allowed");
    expect(view.history.find((entry) => entry.kind === "analysis")).toMatchObject({ verdict: "Failed" });
    expect(await deployment(worker)).toEqual([{ version_id: stable, percentage: 100 }]);
    expect(await outboxOf(started.id)).toEqual([
      { type: "RolloutRolledBack", payload: expect.objectContaining({ canaryVersionId: canary, reason: view.reason }) },
    ]);
  });

  it("waits while too little traffic reaches the new version, then pauses for an operator", async () => {
    const { canary } = await workerWithNewVersion("orders");
    const { token } = await operator();
    const started = await startRollout("orders", canary, token);
    await tick(started.id);
    expect(await tick(started.id, 1_100)).toMatchObject({ status: "STEPPING", canaryPercentage: 50 });
    const view = await tick(started.id, 1_100);
    expect(view).toMatchObject({ status: "PAUSED", canaryPercentage: 50 });
    expect(view.reason).toMatch(/2 inconclusive analyses in a row/);
    expect((await outboxOf(started.id)).map((event) => event.type)).toEqual(["RolloutPaused"]);
  });
});

describe("the operator API", () => {
  it("pauses, resumes and aborts idempotently, recording who; an ended rollout refuses with 409", async () => {
    const { worker, stable, canary } = await workerWithNewVersion("inventory");
    const { token, id: operatorId } = await operator();
    const started = await startRollout("inventory", canary, token);
    await tick(started.id);
    const command = (name: string, key: string) =>
      call(`/v1/operations/rollouts/${started.id}/${name}`, token, { method: "POST", key });

    const paused = await command("pause", "k1");
    expect(paused.status).toBe(200);
    expect(await paused.json()).toMatchObject({ status: "PAUSED", canaryPercentage: 50 });
    expect((await command("pause", "k1")).status).toBe(200);
    expect(await (await command("resume", "k2")).json()).toMatchObject({ status: "STEPPING" });
    const aborted = (await (await command("abort", "k3")).json()) as RolloutView;
    expect(aborted).toMatchObject({ status: "ABORTED", canaryPercentage: 0, reason: `aborted by ${operatorId}` });
    expect(await deployment(worker)).toEqual([{ version_id: stable, percentage: 100 }]);
    expect(
      aborted.history.filter((entry) => entry.kind === "command").map((entry) => [entry.by, entry.detail]),
    ).toEqual([
      [operatorId, "pause: paused at 50 %"],
      [operatorId, "resume: resumed at 50 %"],
      [operatorId, "abort: the stable version takes 100 % of traffic"],
    ]);
    // The same key again answers what it did; another resume is refused: the rollout has ended.
    expect((await command("abort", "k3")).status).toBe(200);
    const refused = await command("resume", "k4");
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
  });

  it("starts one rollout per Worker: the same version again is that rollout, another one a 409", async () => {
    const { canary } = await workerWithNewVersion("notifications");
    const { token } = await operator();
    const started = await startRollout("notifications", canary, token);
    const again = await call("/v1/operations/rollouts", token, {
      method: "POST",
      body: JSON.stringify({ service: "notifications", versionId: canary, plan }),
    });
    expect(again.status).toBe(200);
    expect(((await again.json()) as RolloutView).id).toBe(started.id);
    const other = await call("/v1/operations/rollouts", token, {
      method: "POST",
      body: JSON.stringify({ service: "notifications", versionId: crypto.randomUUID(), plan }),
    });
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ code: "conflict", rolloutId: started.id });
  });

  it("lets auditors read and only operators steer; a customer gets nothing", async () => {
    const { canary } = await workerWithNewVersion("ledger");
    const { token } = await operator();
    const started = await startRollout("ledger", canary, token);
    const auditor = (await testCaller(env, "auditor")).token;
    expect((await call(`/v1/operations/rollouts/${started.id}`, auditor)).status).toBe(200);
    const listed = (await (await call("/v1/operations/rollouts?underWay=true", auditor)).json()) as {
      items: RolloutView[];
    };
    expect(listed.items.map((item) => item.id)).toContain(started.id);
    expect(
      (await call(`/v1/operations/rollouts/${started.id}/abort`, auditor, { method: "POST", key: "a" })).status,
    ).toBe(403);
    const customer = (await testCaller(env, "accounts:read transfers:write")).token;
    expect((await call("/v1/operations/rollouts", customer)).status).toBe(403);
    expect(
      (
        await call("/v1/operations/rollouts", token, {
          method: "POST",
          body: JSON.stringify({ service: "nope", versionId: canary }),
        })
      ).status,
    ).toBe(400);
    await call(`/v1/operations/rollouts/${started.id}/abort`, token, { method: "POST", key: "end" });
  });

  it("answers a rollout of a Worker the account does not have with a 422, starting nothing", async () => {
    const { token } = await operator();
    const response = await call("/v1/operations/rollouts", token, {
      method: "POST",
      body: JSON.stringify({ service: "auth", versionId: crypto.randomUUID(), plan }),
    });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({
      code: "unprocessable",
      detail: `${workerOf(env, "auth")} is not deployed in this account: nothing to roll out over.`,
    });
    const listed = (await (await call("/v1/operations/rollouts", token)).json()) as { items: { worker: string }[] };
    expect(listed.items.filter((item) => item.worker === workerOf(env, "auth"))).toEqual([]);
  });
});
