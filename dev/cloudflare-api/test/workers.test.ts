import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Cloudflare from "cloudflare";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CloudflareApiServer, startCloudflareApi } from "../server.ts";

/**
 * The Workers scripts API of the stand-in, spoken to as a deploy does: through the official
 * `cloudflare` client where it has the method, else raw as the API reference documents it.
 */
const account_id = "0123456789abcdef0123456789abcdef";
const token = "workers-test-token";
let api: CloudflareApiServer;
let client: Cloudflare;

beforeEach(async () => {
  api = await startCloudflareApi({ accountId: account_id, token });
  client = new Cloudflare({ apiToken: token, baseURL: api.apiBaseUrl, maxRetries: 0 });
});
afterEach(() => api.close());

const raw = async (method: string, path: string, body?: unknown, auth = token) => {
  const response = await fetch(`${api.apiBaseUrl}/accounts/${account_id}/workers/${path}`, {
    method,
    headers: { authorization: `Bearer ${auth}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

/** A version upload as wrangler sends it: multipart, metadata and a module. */
const upload = (script: string, metadata: Record<string, unknown>, query = "") => {
  const form = new FormData();
  form.set("metadata", JSON.stringify({ main_module: "index.js", ...metadata }));
  form.set("index.js", new Blob(["export default {}"], { type: "application/javascript+module" }), "index.js");
  return fetch(`${api.apiBaseUrl}/accounts/${account_id}/workers/scripts/${script}/versions${query}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    body: form,
  }).then(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> }));
};

describe("the Workers scripts API stand-in", () => {
  it("answers 10007 for a Worker that does not exist, and 401 without the token", async () => {
    const missing = await raw("GET", "services/nope");
    expect(missing.status).toBe(404);
    expect(missing.body.errors).toEqual([expect.objectContaining({ code: 10_007 })]);
    expect((await raw("GET", "scripts/nope/secrets", undefined, "wrong")).status).toBe(401);
  });

  it("keeps secrets by name, never answering their values", async () => {
    api.workers.putScript("w", { metadata: {}, modules: [] });
    await client.workers.scripts.secrets.update("w", { account_id, name: "B_KEY", text: "b", type: "secret_text" });
    expect((await raw("PUT", "scripts/w/secrets", { name: "A_KEY", text: "a", type: "secret_text" })).status).toBe(200);
    const names: string[] = [];
    for await (const secret of client.workers.scripts.secrets.list("w", { account_id }))
      names.push(JSON.stringify(secret));
    expect(names).toEqual(['{"name":"A_KEY","type":"secret_text"}', '{"name":"B_KEY","type":"secret_text"}']);
  });

  it("uploads versions with their annotations; a strict upload fails on a secret the script lacks", async () => {
    api.workers.putScript("w", { metadata: { migrations: { new_tag: "v1" } }, modules: [] });
    const refused = await upload("w", { bindings: [{ name: "KEY", type: "inherit" }] }, "?bindings_inherit=strict");
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body.errors)).toContain("KEY is inherited but the script has no such secret");
    const migrating = await upload("w", { migrations: { old_tag: "v1", new_tag: "v2", steps: [] } });
    expect(JSON.stringify(migrating.body.errors)).toContain("cannot be applied by a version upload");

    const uploaded = await upload("w", { annotations: { "workers/message": "abc fix", "workers/tag": "t1" } });
    expect(uploaded.status).toBe(200);
    const id = (uploaded.body.result as { id: string }).id;
    const version = (await client.workers.scripts.versions.get(id, { account_id, script_name: "w" })) as {
      annotations?: Record<string, string>;
      resources: { script_runtime: { migration_tag?: string } };
    };
    expect(version.annotations).toEqual({
      "workers/message": "abc fix",
      "workers/tag": "t1",
      "workers/triggered_by": "upload",
    });
    expect(version.resources.script_runtime.migration_tag).toBe("v1");
    const listed: string[] = [];
    for await (const entry of client.workers.scripts.versions.list("w", { account_id })) listed.push(entry.id ?? "");
    expect(listed[0]).toBe(id);
    expect(listed).toHaveLength(2);
  });

  it("deploys one or two versions by percentages summing to 100, newest deployment first", async () => {
    api.workers.putScript("w", { metadata: {}, modules: [] });
    const [stable] = api.workers.versions("w", 1, 10);
    const next = api.workers.uploadVersion("w", { metadata: {}, modules: [] }, true);
    const third = api.workers.uploadVersion("w", { metadata: {}, modules: [] }, true);
    const deploy = (versions: unknown, strategy = "percentage") =>
      raw("POST", "scripts/w/deployments", { strategy, versions, annotations: { "workers/message": "canary 10" } });
    const errors = async (versions: unknown, strategy?: string) =>
      JSON.stringify((await deploy(versions, strategy)).body.errors);

    expect(await errors([{ version_id: next.id, percentage: 100 }], "all-at-once")).toContain("strategy must be");
    expect(await errors([])).toContain("one or two versions");
    expect(
      await errors([
        { version_id: stable?.id, percentage: 50 },
        { version_id: next.id, percentage: 25 },
        { version_id: third.id, percentage: 25 },
      ]),
    ).toContain("one or two versions");
    expect(await errors([{ version_id: next.id, percentage: 90 }])).toContain("sum to 90, not 100");
    expect(await errors([{ version_id: "nope", percentage: 100 }])).toContain("no version nope");

    const created = await deploy([
      { version_id: stable?.id, percentage: 90 },
      { version_id: next.id, percentage: 10 },
    ]);
    expect(created.status).toBe(200);
    const { result } = (await raw("GET", "scripts/w/deployments")).body as {
      result: { deployments: { id: string; versions: unknown; annotations: unknown; strategy: string }[] };
    };
    expect(result.deployments).toHaveLength(2);
    expect(result.deployments[0]).toMatchObject({
      id: (created.body.result as { id: string }).id,
      strategy: "percentage",
      versions: [
        { version_id: stable?.id, percentage: 90 },
        { version_id: next.id, percentage: 10 },
      ],
      annotations: { "workers/message": "canary 10", "workers/triggered_by": "deployment" },
    });
  });

  it("deploys a script with its Durable Object migrations only from the tag it has", async () => {
    api.workers.putScript("w", { metadata: { migrations: { new_tag: "v1" } }, modules: [] });
    expect(() =>
      api.workers.putScript("w", { metadata: { migrations: { old_tag: "v0", new_tag: "v2" } }, modules: [] }),
    ).toThrow(/old_tag v0 does not match the script's v1/);
    api.workers.putScript("w", { metadata: { migrations: { old_tag: "v1", new_tag: "v2" } }, modules: [] });
    expect(api.workers.service("w").default_environment.script.migration_tag).toBe("v2");
  });

  it("keeps the account in a file when given one: another process finds its Workers as they were", async () => {
    const folder = await mkdtemp(join(tmpdir(), "edgebank-cf-"));
    try {
      const file = join(folder, "workers.json");
      const first = await startCloudflareApi({ accountId: account_id, token, workersFile: file });
      first.workers.putScript("w", { metadata: { migrations: { new_tag: "v1" } }, modules: [] });
      first.workers.putSecret("w", { name: "KEY", text: "k" });
      const next = first.workers.uploadVersion("w", { metadata: {}, modules: [] }, true);
      await first.close();
      const second = await startCloudflareApi({ accountId: account_id, token, workersFile: file });
      try {
        expect(second.workers.secrets("w")).toEqual([{ name: "KEY", type: "secret_text" }]);
        expect(second.workers.version("w", next.id).id).toBe(next.id);
        expect(second.workers.service("w").default_environment.script.migration_tag).toBe("v1");
      } finally {
        await second.close();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
