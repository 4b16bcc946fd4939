import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { callerOf } from "@edgebank/contracts";
import { experimental_readRawConfig } from "wrangler";
import { generatedMarker } from "../../deploy/config/render.ts";
import { parseCanaryFault } from "../../durable-objects/flow/testing/canary-fault.ts";
import type { CloudflareApiServer } from "../cloudflare-api/server.ts";
import type { ServiceInfo } from "../services.ts";

/**
 * A second version of a Worker beside the first (`npm run dev -- --version transfers[=<fault>|<ref>]`),
 * as Cloudflare would hold them during a gradual deployment: the Cloudflare API stand-in gets the
 * Worker with two versions (the first deployed at 100 %, the second uploaded), each version runs
 * under a name of its own, and the local traffic router (dev/traffic-router) takes the Worker's
 * name and routes by the stand-in's deployment. The second version is the same tree; with a
 * fault (`5xx:0.2`, `latency:300`) it runs the Worker's test build with that fault switched on;
 * with a git ref, it is built from that commit's tree (`treeAt`).
 *
 * Callers reach the router over HTTP and over Workers RPC alike (it serves every entrypoint of
 * @edgebank/contracts, with one binding per version and caller). Durable Objects keep one
 * namespace per class, as on Cloudflare: the first version's, which the second binds by
 * `script_name`. Unlike Cloudflare, which moves objects to the new version with the percentages,
 * every object runs the first version's code here.
 */
export interface SecondVersion {
  service: string;
  /** A fault switched on in the current tree's test build (`5xx:0.2`, `latency:300`). */
  fault?: string;
  /** Or a commit of the repository (any git ref) whose tree the second version is built from. */
  ref?: string;
}

export interface VersionedWorker {
  worker: string;
  stableVersionId: string;
  canaryVersionId: string;
}

/**
 * `transfers` (the current tree again), `transfers=5xx:0.2` or `transfers=latency:300` (its test
 * build with that fault), or `transfers=<git ref>` (the tree of that commit), as `--version`
 * takes it.
 */
export function parseVersionOption(value: string): SecondVersion {
  const [service, second] = value.split("=", 2);
  if (!service) throw new Error(`--version ${value}: name a service`);
  if (second === undefined || second === "") return { service };
  if (/^(5xx|latency):/.test(second)) {
    if (!parseCanaryFault(second)) {
      throw new Error(
        `--version ${value}: a fault is 5xx:<share of transfers from 0 to 1> or latency:<milliseconds added to each transfer>`,
      );
    }
    return { service, fault: second };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._/~^@{}-]*$/.test(second)) {
    throw new Error(`--version ${value}: after = comes a fault (5xx:<share>, latency:<ms>) or a git ref`);
  }
  return { service, ref: second };
}

/**
 * The repository's tree at `ref`, unpacked once per commit under `.dev/versions/<commit>` (inside
 * the repository, so its Workers resolve third-party packages from the repository's
 * node_modules), with node_modules links to its own workspace packages, so a Worker built
 * there runs that commit's shared code too. Answers the folder (relative to `root`) and the commit.
 */
export function treeAt(root: string, ref: string): { folder: string; commit: string } {
  let commit: string;
  try {
    commit = execFileSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
      cwd: root,
      encoding: "utf8",
    }).trim();
  } catch {
    throw new Error(`--version …=${ref}: not a commit of this repository`);
  }
  const folder = join(".dev", "versions", commit.slice(0, 12));
  const target = join(root, folder);
  if (existsSync(join(target, "package.json"))) return { folder, commit };
  mkdirSync(join(root, ".dev", "versions"), { recursive: true });
  const partial = mkdtempSync(join(root, ".dev", "versions", ".partial-"));
  try {
    execFileSync("sh", ["-c", 'git archive "$1" | tar -x -C "$2"', "sh", commit, partial], { cwd: root });
    linkWorkspaces(partial);
    renameSync(partial, target);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    // Another stack unpacked the same commit first: theirs serves.
    if (!existsSync(join(target, "package.json"))) throw error;
  }
  return { folder, commit };
}

/** `node_modules/<name>` → the package, for every workspace package of the tree at `tree`. */
function linkWorkspaces(tree: string): void {
  const { workspaces = [] } = JSON.parse(readFileSync(join(tree, "package.json"), "utf8")) as {
    workspaces?: string[];
  };
  const packages = workspaces.flatMap((pattern) =>
    pattern.endsWith("/*")
      ? readdirSync(join(tree, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => join(pattern.slice(0, -2), entry.name))
      : [pattern],
  );
  for (const path of packages) {
    const manifest = readFileSafe(join(tree, path, "package.json"));
    if (!manifest) continue;
    const { name } = JSON.parse(manifest) as { name?: string };
    if (!name) continue;
    const link = join(tree, "node_modules", name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), join(tree, path)), link);
  }
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
  for (const { service: name, fault, ref } of wanted) {
    const index = services.findIndex((service) => service.name === name);
    const service = services[index];
    const config = raw[index];
    if (!service || !config?.name || index === 0)
      throw new Error(`--version ${name}: no such service (the gateway cannot have two)`);
    const worker = config.name;
    // Every caller's RPC binding to the Worker: the router serves each entrypoint, and reaches
    // each version's through a binding with the caller's props.
    const rpcBindings = uniqueBy(
      raw.flatMap((other) =>
        (other.services ?? []).flatMap((binding: { service: string; entrypoint?: string; props?: unknown }) =>
          binding.service === worker && binding.entrypoint
            ? [{ entrypoint: binding.entrypoint, caller: callerOf(binding.props) ?? "", props: binding.props }]
            : [],
        ),
      ),
      (binding) => `${binding.entrypoint}_${binding.caller}`,
    );
    if (fault && !readFileSafe(join(root, dirname(service.config), TEST_ENTRY))) {
      throw new Error(`--version ${name}=${fault}: the Worker has no test build (${TEST_ENTRY}) to switch a fault on`);
    }
    const tree = ref === undefined ? undefined : treeAt(root, ref);
    const folder = dirname(service.config);
    const testBuild = result[index] !== service.config;
    if (tree && !readFileSafe(join(root, tree.folder, service.config))) {
      throw new Error(`--version ${name}=${ref}: commit ${tree.commit.slice(0, 8)} has no ${service.config}`);
    }
    // A commit's tree runs with the stack's settings (wrangler reads .dev.vars beside the config).
    const devVars = readFileSafe(join(root, folder, ".dev.vars"));
    if (tree && devVars !== undefined) write(join(tree.folder, folder, ".dev.vars"), devVars);
    const label = fault ?? (tree ? `${ref} at ${tree.commit.slice(0, 8)}` : undefined);
    const { stable, canary } = registered(cloudflare.server, worker, config.migrations?.at(-1)?.tag, label);
    const pair = [
      { id: stable, fault: undefined, tree: undefined },
      { id: canary, fault, tree },
    ];
    const stableName = `${worker}-v-${stable.slice(0, 8)}`;
    const names = pair.map(({ id, fault: switched, tree: at }) => {
      const versionName = `${worker}-v-${id.slice(0, 8)}`;
      const base = at?.folder ?? "";
      let text = readFileSync(join(root, at ? join(base, service.config) : (result[index] ?? service.config)), "utf8");
      text = text.replace(/^name = ".*"$/m, `name = "${versionName}"`);
      // A commit's tree runs as the stack runs the current one: its test build when the stack's is.
      const entry = switched || (at && testBuild && readFileSafe(join(root, base, folder, TEST_ENTRY)));
      if (entry) text = text.replace(/^main = ".*"$/m, `main = "${TEST_ENTRY}"`);
      text = text.replace(
        /^\[vars\]$/m,
        `[vars]\nEDGEBANK_VERSION_ID = "${id}"${switched ? `\nEDGEBANK_CANARY_FAULT = "${switched}"` : ""}`,
      );
      // One namespace per Durable Object class, as on Cloudflare: the second version reaches the
      // first one's objects, so no object ever runs twice or keeps two storages.
      if (versionName !== stableName) text = withObjectsOf(text, stableName);
      const path = write(
        join(base, folder, `.wrangler.version-${id.slice(0, 8)}.${process.pid}.toml`),
        `# Generated by npm run dev --version; removed when it stops.\n${text}`,
      );
      return { id, versionName, path };
    });
    result[index] = names[0]?.path ?? "";
    result = [...result, names[1]?.path ?? ""];
    const router = [
      "# Generated by npm run dev --version: the local traffic router of one Worker; removed when it stops.",
      `name = "${worker}"`,
      'main = "src/worker.ts"',
      `compatibility_date = "${config.compatibility_date ?? "2026-11-01"}"`,
      // Service bindings' scheduled(): the router hands a Cron Trigger on to one version.
      'compatibility_flags = ["nodejs_compat", "service_binding_extra_handlers"]',
      "",
      "[vars]",
      `ROUTED_WORKER = "${worker}"`,
      `VERSIONS = '${JSON.stringify(Object.fromEntries(names.map(({ id }, i) => [id, `V${i}`])))}'`,
      `CLOUDFLARE_API_BASE_URL = "${cloudflare.server.apiBaseUrl}"`,
      `CLOUDFLARE_ACCOUNT_ID = "${cloudflare.accountId}"`,
      `CLOUDFLARE_API_TOKEN = "${cloudflare.token}"`,
      ...names.flatMap(({ versionName }, i) => [
        "",
        "[[services]]",
        `binding = "V${i}"`,
        `service = "${versionName}"`,
        ...rpcBindings.flatMap(({ entrypoint, caller, props }) => [
          "",
          "[[services]]",
          `binding = "V${i}_${entrypoint}_${caller}"`,
          `service = "${versionName}"`,
          `entrypoint = "${entrypoint}"`,
          ...(props === undefined ? [] : [`props = ${inlineTable(props)}`]),
        ]),
      ]),
      "",
    ].join("\n");
    result = [...result, write(join(routerFolder, `.wrangler.${name}.${process.pid}.toml`), router)];
    versions.push({ worker, stableVersionId: stable, canaryVersionId: canary });
  }
  return {
    configs: result,
    versions,
    remove: async () => {
      for (const path of written) rmSync(path, { force: true });
    },
  };
}

/**
 * A version's wrangler config with its own Durable Object bindings pointed at `host`'s
 * namespaces (`script_name`); only the development part before the deployed environments.
 */
export function withObjectsOf(config: string, host: string): string {
  const marker = config.indexOf(generatedMarker);
  const local = marker < 0 ? config : config.slice(0, marker);
  const blocks = local
    .split(/^(?=\[)/m)
    .map((block) =>
      block.startsWith("[[durable_objects.bindings]]") && !/^script_name\s*=/m.test(block)
        ? block.replace(/^(class_name\s*=.*)$/m, `$1\nscript_name = "${host}"`)
        : block,
    );
  return blocks.join("") + (marker < 0 ? "" : config.slice(marker));
}

/** A TOML inline table of string values (a binding's props). */
function inlineTable(value: unknown): string {
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([key, entry]) => `${key} = ${JSON.stringify(String(entry))}`,
  );
  return `{ ${entries.join(", ")} }`;
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

const SECOND = "local: the second version";

/**
 * The Worker's two versions at the API stand-in: those an earlier start registered (a stack
 * started again with its state finds its rollouts where they were), else new ones, the first
 * deployed at 100 % and the second uploaded beside it.
 */
function registered(
  server: CloudflareApiServer,
  worker: string,
  migrationTag: string | undefined,
  label: string | undefined,
): { stable: string; canary: string } {
  if (server.workers.has(worker)) {
    const versions = server.workers.versions(worker, 1, 100);
    const first = versions.at(-1);
    const second = versions.find((version) => version.annotations["workers/message"]?.startsWith(SECOND));
    if (first && second) return { stable: first.id, canary: second.id };
  }
  const deployed = server.workers.putScript(worker, {
    metadata: {
      annotations: { "workers/message": "local: the stable version" },
      ...(migrationTag ? { migrations: { new_tag: migrationTag } } : {}),
    },
    modules: [],
  });
  const canary = server.workers.uploadVersion(
    worker,
    { metadata: { annotations: { "workers/message": `${SECOND}${label ? ` (${label})` : ""}` } }, modules: [] },
    false,
  );
  return { stable: deployed.deployment_id, canary: canary.id };
}

function readFileSafe(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
