import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CloudflareApiServer, startCloudflareApi } from "../../cloudflare-api/server.ts";
import { allServices } from "../../services.ts";
import { parseVersionOption, secondVersions, withObjectsOf } from "../versions.ts";

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
    expect(parseVersionOption("transfers=latency:300")).toEqual({ service: "transfers", fault: "latency:300" });
    expect(() => parseVersionOption("transfers=latency:soon")).toThrow(/a fault is/);
    expect(parseVersionOption("transfers=main~2")).toEqual({ service: "transfers", ref: "main~2" });
    expect(() => parseVersionOption("transfers=$(rm -rf /)")).toThrow(/a git ref/);
    expect(() => parseVersionOption("transfers=5xx:2")).toThrow(/a fault is/);
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

  it("serves a Worker others call over RPC: one binding per version and caller, with the caller's props", async () => {
    const configs = allServices.map((service) => service.config);
    const second = secondVersions(root, allServices, configs, [{ service: "accounts" }], {
      server: api,
      accountId,
      token: "t",
    });
    try {
      const [version] = second.versions;
      const router = readFileSync(join(root, second.configs.at(-1) ?? ""), "utf8");
      const stableName = `edgebank-accounts-v-${version?.stableVersionId.slice(0, 8)}`;
      const canaryName = `edgebank-accounts-v-${version?.canaryVersionId.slice(0, 8)}`;
      // Transfers, payments and the ledger call AccountsRpc, each with its own props.
      for (const caller of ["transfers", "payments", "ledger"]) {
        for (const [i, name] of [stableName, canaryName].entries()) {
          expect(router).toContain(
            `binding = "V${i}_AccountsRpc_${caller}"\nservice = "${name}"\nentrypoint = "AccountsRpc"\nprops = { caller = "${caller}" }`,
          );
        }
      }
      expect(router).toContain("service_binding_extra_handlers");
      // The second version keeps no objects of its own: it binds the first one's namespaces.
      const canary = readFileSync(join(root, second.configs.at(-2) ?? ""), "utf8");
      const local = canary.slice(0, canary.indexOf("# --- Deployed environments"));
      expect(local).toContain(`name = "ACCOUNT"\nclass_name = "AccountDO"\nscript_name = "${stableName}"`);
      expect(local).toContain(
        `name = "OUTBOX_RELAY"\nclass_name = "AccountsOutboxRelayDO"\nscript_name = "${stableName}"`,
      );
      expect(canary.slice(local.length)).not.toContain("script_name");
      const stable = readFileSync(
        join(root, second.configs[allServices.findIndex((s) => s.name === "accounts")] ?? ""),
        "utf8",
      );
      expect(stable).not.toContain("script_name");
    } finally {
      await second.remove();
    }
  });

  it("leaves a binding to another Worker's objects as it is", () => {
    const config = [
      "[[durable_objects.bindings]]",
      'name = "MINE"',
      'class_name = "Mine"',
      "",
      "[[durable_objects.bindings]]",
      'name = "THEIRS"',
      'class_name = "Theirs"',
      'script_name = "elsewhere"',
      "",
    ].join("\n");
    expect(withObjectsOf(config, "host")).toBe(
      config.replace('class_name = "Mine"', 'class_name = "Mine"\nscript_name = "host"'),
    );
  });

  it("builds a second version from a commit's own tree, with that tree's packages and the stack's settings", async () => {
    const configs = allServices.map((service) => service.config);
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const devVars = join(root, "workers/transfers/.dev.vars");
    const hadDevVars = existsSync(devVars);
    if (!hadDevVars) writeFileSync(devVars, '# Generated by `npm run dev` for this test\nDB_DRIVER="hyperdrive"\n');
    const second = secondVersions(root, allServices, configs, [{ service: "transfers", ref: "HEAD" }], {
      server: api,
      accountId,
      token: "t",
    });
    try {
      const tree = join(".dev", "versions", head.slice(0, 12));
      const canary = second.configs.at(-2) ?? "";
      expect(canary.startsWith(join(tree, "workers/transfers/.wrangler.version-"))).toBe(true);
      expect(readFileSync(join(root, canary), "utf8")).toContain('main = "src/index.ts"');
      // The commit's shared packages, not the working tree's; its settings are the stack's.
      expect(realpathSync(join(root, tree, "node_modules/@edgebank/http"))).toBe(
        realpathSync(join(root, tree, "shared/http")),
      );
      expect(readFileSync(join(root, tree, "workers/transfers/.dev.vars"), "utf8")).toBe(readFileSync(devVars, "utf8"));
      const [version] = second.versions;
      expect(
        api.workers.version("edgebank-transfers", version?.canaryVersionId ?? "").annotations["workers/message"],
      ).toBe(`local: the second version (HEAD at ${head.slice(0, 8)})`);
      expect(() =>
        secondVersions(root, allServices, configs, [{ service: "ledger", ref: "no-such-ref-anywhere" }], {
          server: api,
          accountId,
          token: "t",
        }),
      ).toThrow(/not a commit of this repository/);
    } finally {
      await second.remove();
      if (!hadDevVars) rmSync(devVars);
    }
    expect(existsSync(join(root, ".dev", "versions", head.slice(0, 12), "workers/transfers/.dev.vars"))).toBe(false);
  });

  it("refuses the gateway", () => {
    const configs = allServices.map((service) => service.config);
    const cloudflare = { server: api, accountId, token: "t" };
    expect(() => secondVersions(root, allServices, configs, [{ service: "gateway" }], cloudflare)).toThrow(
      /the gateway cannot have two/,
    );
  });
});
