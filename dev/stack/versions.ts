import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { experimental_readRawConfig } from "wrangler";
import type { CloudflareApiServer } from "../cloudflare-api/server.ts";
import type { ServiceInfo } from "../services.ts";

/**
 * A second version of a Worker beside the first (`npm run dev -- --version transfers[=<fault>]`),
 * as Cloudflare would hold them during a gradual deployment: the Cloudflare API stand-in gets the
 * Worker with two versions (the first deployed at 100 %, the second uploaded), each version runs
 * under a name of its own, and the local traffic router (dev/traffic-router) takes the Worker's
 * name and routes by the stand-in's deployment. The second version is the same tree; with a
 * fault (`5xx:0.2`, `latency:300`) it runs the Worker's test build with that fault switched on.
 *
 * Not yet: a Worker others call over RPC (its router would need their entrypoints), and Durable
 * Objects shared across the versions (each version keeps its own objects here, where Cloudflare
 * shares one namespace between them).
 */
export interface SecondVersion {
  service: string;
  fault?: string;
}

export interface VersionedWorker {
  worker: string;
  stableVersionId: string;
  canaryVersionId: string;
}

/** `transfers` or `transfers=5xx:0.2`, as `--version` takes it. */
export function parseVersionOption(value: string): SecondVersion {
  const [service, fault] = value.split("=", 2);
  if (!service) throw new Error(`--version ${value}: name a service`);
  if (fault !== undefined && !/^(5xx:(0(\.\d+)?|1)|latency:\d+)$/.test(fault)) {
    throw new Error(`--version ${value}: a fault is 5xx:<share from 0 to 1> or latency:<ms>`);
  }
  return fault ? { service, fault } : { service };
}

const TEST_ENTRY = "test/faults-entry.ts";
const routerFolder = "dev/traffic-router";

/**
 * Registers each second version with the API stand-in and writes the configs that run it:
 * `configs` (the stack's, in order) with each versioned Worker replaced by its two versions, and
 * its router appended. Answers the configs, the versions, and the removal of the written files.
 */
export function secondVersions(
  root: string,
  services: readonly ServiceInfo[],
  configs: string[],
  wanted: readonly SecondVersion[],
  cloudflare: { server: CloudflareApiServer; accountId: string; token: string },
): { configs: string[]; versions: VersionedWorker[]; remove: () => Promise<void> } {
  const written: string[] = [];
  const versions: VersionedWorker[] = [];
  const write = (path: string, text: string) => {
    writeFileSync(join(root, path), text);
    written.push(join(root, path));
    return path;
  };
  const raw = services.map((service) => experimental_readRawConfig({ config: join(root, service.config) }).rawConfig);
  let result = [...configs];
  for (const { service: name, fault } of wanted) {
    const index = services.findIndex((service) => service.name === name);
    const service = services[index];
    const config = raw[index];
    if (!service || !config?.name || index === 0)
      throw new Error(`--version ${name}: no such service (the gateway cannot have two)`);
    const worker = config.name;
    const rpcCallers = raw.filter((other) =>
      (other.services ?? []).some(
        (binding: { service: string; entrypoint?: string }) => binding.service === worker && binding.entrypoint,
      ),
    );
    if (rpcCallers.length > 0) {
      throw new Error(
        `--version ${name}: ${rpcCallers.map((c) => c.name).join(", ")} call it over RPC, which the local router cannot route yet`,
      );
    }
    if (fault && !readFileSafe(join(root, dirname(service.config), TEST_ENTRY))) {
      throw new Error(`--version ${name}=${fault}: the Worker has no test build (${TEST_ENTRY}) to switch a fault on`);
    }
    const migrationTag = config.migrations?.at(-1)?.tag;
    const deployed = cloudflare.server.workers.putScript(worker, {
      metadata: {
        annotations: { "workers/message": "local: the stable version" },
        ...(migrationTag ? { migrations: { new_tag: migrationTag } } : {}),
      },
      modules: [],
    });
    const canary = cloudflare.server.workers.uploadVersion(
      worker,
      {
        metadata: { annotations: { "workers/message": `local: the second version${fault ? ` (${fault})` : ""}` } },
        modules: [],
      },
      false,
    );
    const pair = [
      { id: deployed.deployment_id, fault: undefined },
      { id: canary.id, fault },
    ];
    const source = readFileSync(join(root, result[index] ?? service.config), "utf8");
    const folder = dirname(service.config);
    const names = pair.map(({ id, fault: switched }) => {
      const versionName = `${worker}-v-${id.slice(0, 8)}`;
      let text = source.replace(/^name = ".*"$/m, `name = "${versionName}"`);
      if (switched) text = text.replace(/^main = ".*"$/m, `main = "${TEST_ENTRY}"`);
      text = text.replace(
        /^\[vars\]$/m,
        `[vars]\nEDGEBANK_VERSION_ID = "${id}"${switched ? `\nEDGEBANK_CANARY_FAULT = "${switched}"` : ""}`,
      );
      write(
        join(folder, `.wrangler.version-${id.slice(0, 8)}.${process.pid}.toml`),
        `# Generated by npm run dev --version; removed when it stops.\n${text}`,
      );
      return { id, versionName };
    });
    result[index] = join(folder, `.wrangler.version-${pair[0]?.id.slice(0, 8)}.${process.pid}.toml`);
    result = [...result, join(folder, `.wrangler.version-${pair[1]?.id.slice(0, 8)}.${process.pid}.toml`)];
    const router = [
      "# Generated by npm run dev --version: the local traffic router of one Worker; removed when it stops.",
      `name = "${worker}"`,
      'main = "src/worker.ts"',
      `compatibility_date = "${config.compatibility_date ?? "2026-11-01"}"`,
      "",
      "[vars]",
      `ROUTED_WORKER = "${worker}"`,
      `VERSIONS = '${JSON.stringify(Object.fromEntries(names.map(({ id }, i) => [id, `V${i}`])))}'`,
      `CLOUDFLARE_API_BASE_URL = "${cloudflare.server.apiBaseUrl}"`,
      `CLOUDFLARE_ACCOUNT_ID = "${cloudflare.accountId}"`,
      `CLOUDFLARE_API_TOKEN = "${cloudflare.token}"`,
      ...names.flatMap(({ versionName }, i) => ["", "[[services]]", `binding = "V${i}"`, `service = "${versionName}"`]),
      "",
    ].join("\n");
    result = [...result, write(join(routerFolder, `.wrangler.${name}.${process.pid}.toml`), router)];
    versions.push({ worker, stableVersionId: deployed.deployment_id, canaryVersionId: canary.id });
  }
  return {
    configs: result,
    versions,
    remove: async () => {
      for (const path of written) rmSync(path, { force: true });
    },
  };
}

function readFileSafe(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
