import Cloudflare from "cloudflare";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CloudflareApiServer, startCloudflareApi } from "../../../dev/cloudflare-api/server.ts";
import { newestSplit } from "../src/index.ts";

const accountId = "0123456789abcdef0123456789abcdef";
const token = "deployments-test-token";
let api: CloudflareApiServer;
let client: Cloudflare;

beforeEach(async () => {
  api = await startCloudflareApi({ accountId, token });
  client = new Cloudflare({ apiToken: token, baseURL: api.apiBaseUrl, maxRetries: 0 });
});
afterEach(() => api.close());

describe("the newest deployment of a Worker", () => {
  it("is the split of the last deployment made, whatever came before", async () => {
    const first = api.workers.putScript("w", { metadata: {}, modules: [] });
    expect(await newestSplit(client, accountId, "w")).toEqual([{ version_id: first.deployment_id, percentage: 100 }]);
    const second = api.workers.uploadVersion("w", { metadata: {}, modules: [] }, false);
    await client.workers.scripts.deployments.create("w", {
      account_id: accountId,
      strategy: "percentage",
      versions: [
        { version_id: first.deployment_id, percentage: 90 },
        { version_id: second.id, percentage: 10 },
      ],
    });
    expect(await newestSplit(client, accountId, "w")).toEqual([
      { version_id: first.deployment_id, percentage: 90 },
      { version_id: second.id, percentage: 10 },
    ]);
  });

  it("is empty for a Worker the account does not have, and a wrong token is an error", async () => {
    expect(await newestSplit(client, accountId, "nope")).toEqual([]);
    const stranger = new Cloudflare({ apiToken: "wrong", baseURL: api.apiBaseUrl, maxRetries: 0 });
    await expect(newestSplit(stranger, accountId, "nope")).rejects.toThrow();
  });
});
