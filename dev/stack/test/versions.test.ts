import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CloudflareApiServer, startCloudflareApi } from "../../cloudflare-api/server.ts";
import { allServices } from "../../services.ts";
import { parseVersionOption, secondVersions } from "../versions.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const accountId = "0123456789abcdef0123456789abcdef";
let api: CloudflareApiServer;
beforeEach(async () => {
  api = await startCloudflareApi({ accountId, token: "t" });
});
afterEach(() => api.close());

describe("npm run dev --version", () => {
  it("takes a service and an optional fault", () => {
    expect(parseVersionOption("transfers")).toEqual({ service: "transfers" });
    expect(parseVersionOption("transfers=5xx:0.2")).toEqual({ service: "transfers", fault: "5xx:0.2" });
    expect(() => parseVersionOption("transfers=latency:300")).toThrow(/a fault is/);
    expect(() => parseVersionOption("transfers=explode")).toThrow(/a fault is/);
  });

  it("registers both versions with the API stand-in, the first deployed, and routes the Worker's name", async () => {
    const configs = allServices.map((service) => service.config);
    const second = secondVersions(root, allServices, configs, [{ service: "transfers", fault: "5xx:0.2" }], {
      server: api,
      accountId,
      token: "t",
    });
    try {
      const [version] = second.versions;
      expect(version?.worker).toBe("edgebank-transfers");
      expect(api.workers.deployments("edgebank-transfers").deployments[0]?.versions).toEqual([
        { version_id: version?.stableVersionId, percentage: 100 },
      ]);
      expect(
        api.workers.version("edgebank-transfers", version?.canaryVersionId ?? "").annotations["workers/message"],
      ).toBe("local: the second version (5xx:0.2)");
      // The Worker's place (and every other) keeps its order; its second version and router come last.
      expect(second.configs).toHaveLength(configs.length + 2);
      expect(second.configs.at(-1)).toMatch(/^dev\/traffic-router\/\.wrangler\.transfers\.\d+\.toml$/);
    } finally {
      await second.remove();
    }
  });

  it("finds the versions an earlier start registered (a restarted stack goes on with its rollouts)", async () => {
    const configs = allServices.map((service) => service.config);
    const cloudflare = { server: api, accountId, token: "t" };
    const first = secondVersions(root, allServices, configs, [{ service: "transfers" }], cloudflare);
    await first.remove();
    const [version] = first.versions;
    api.workers.createDeployment("edgebank-transfers", {
      strategy: "percentage",
      versions: [
        { version_id: version?.stableVersionId, percentage: 50 },
        { version_id: version?.canaryVersionId, percentage: 50 },
      ],
    });
    const again = secondVersions(root, allServices, configs, [{ service: "transfers" }], cloudflare);
    await again.remove();
    expect(again.versions).toEqual(first.versions);
    expect(api.workers.deployments("edgebank-transfers").deployments[0]?.versions).toHaveLength(2);
  });

  it("refuses a Worker others call over RPC, and the gateway", () => {
    const configs = allServices.map((service) => service.config);
    const cloudflare = { server: api, accountId, token: "t" };
    expect(() => secondVersions(root, allServices, configs, [{ service: "accounts" }], cloudflare)).toThrow(
      /call it over RPC/,
    );
    expect(() => secondVersions(root, allServices, configs, [{ service: "gateway" }], cloudflare)).toThrow(
      /the gateway cannot have two/,
    );
  });
});
