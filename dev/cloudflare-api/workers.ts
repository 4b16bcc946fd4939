import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * The Workers scripts API as deploys use it (Cloudflare API v4, `accounts/{account_id}/workers/…`),
 * kept in memory: a script's secrets, its versions (`wrangler versions upload`), its deployments
 * (gradual: at most two versions whose percentages sum to 100), `wrangler deploy`'s atomic upload
 * with Durable Object migrations, and the service metadata wrangler reads first. Failures carry
 * the API's codes where wrangler or the `cloudflare` client act on them (10007: no such Worker).
 * With a `file`, the account outlives the process (`npm run dev` keeps it in its state folder,
 * so a rollout survives a restart of the stack).
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  constructor(status: number, code: number, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface Annotations {
  "workers/message"?: string;
  "workers/tag"?: string;
  "workers/triggered_by"?: string;
}

interface Binding {
  name: string;
  type: string;
  [key: string]: unknown;
}

export interface Version {
  id: string;
  number: number;
  annotations: Annotations;
  metadata: { author_email: string; created_on: string; modified_on: string; source: "wrangler" | "api" };
  resources: {
    bindings: Binding[];
    script: { etag: string; handlers: string[]; last_deployed_from: string };
    script_runtime: { compatibility_date?: string; compatibility_flags: string[]; migration_tag?: string };
  };
  /** The uploaded modules' names and sizes (the stand-in keeps no code). */
  modules: { name: string; bytes: number }[];
}

export interface Deployment {
  id: string;
  created_on: string;
  source: "wrangler" | "api";
  strategy: "percentage";
  versions: { version_id: string; percentage: number }[];
  annotations: Annotations;
  author_email: string;
}

interface Script {
  name: string;
  tag: string;
  created_on: string;
  migration_tag?: string;
  secrets: Map<string, string>;
  subdomain: { enabled: boolean; previews_enabled: boolean };
  schedules: { cron: string }[];
  /** Custom domains (hostnames) the script serves. */
  domains: string[];
  versions: Version[];
  /** Newest first, as the API lists them. */
  deployments: Deployment[];
}

interface Upload {
  metadata: {
    main_module?: string;
    bindings?: Binding[];
    compatibility_date?: string;
    compatibility_flags?: string[];
    annotations?: Annotations;
    migrations?: { old_tag?: string; new_tag?: string; steps?: unknown[] };
    keep_bindings?: string[];
    /** Static assets: the completion token of their upload session (assets.ts), and their config. */
    assets?: { jwt?: string; config?: Record<string, unknown> };
  };
  modules: { name: string; bytes: number }[];
}

const author = "deploy@edgebank.dev";

function hostnames(origins: unknown): string[] {
  if (!Array.isArray(origins)) throw new ApiError(400, 10_001, "origins are an array of { hostname }");
  return origins.map((origin: { hostname?: unknown }) => {
    if (typeof origin?.hostname !== "string" || !/^[a-z0-9.-]+$/.test(origin.hostname)) {
      throw new ApiError(400, 10_001, "a custom domain needs a hostname");
    }
    return origin.hostname;
  });
}

export class WorkersApi {
  readonly #scripts = new Map<string, Script>();
  readonly #file: string | undefined;

  constructor(file?: string) {
    this.#file = file;
    if (!file || !existsSync(file)) return;
    const stored = JSON.parse(readFileSync(file, "utf8")) as (Omit<Script, "secrets"> & {
      secrets: [string, string][];
    })[];
    for (const script of stored) this.#scripts.set(script.name, { ...script, secrets: new Map(script.secrets) });
  }

  /** Writes the account to its file (whole, then renamed: a crash never leaves half of it). */
  #save(): void {
    if (!this.#file) return;
    mkdirSync(dirname(this.#file), { recursive: true });
    const scripts = [...this.#scripts.values()].map((script) => ({
      ...script,
      secrets: [...script.secrets.entries()],
    }));
    writeFileSync(`${this.#file}.tmp`, JSON.stringify(scripts));
    renameSync(`${this.#file}.tmp`, this.#file);
  }

  /** Whether the account has a Worker of this name. */
  has(name: string): boolean {
    return this.#scripts.has(name);
  }

  #script(name: string): Script {
    const script = this.#scripts.get(name);
    if (!script) throw new ApiError(404, 10_007, `workers.api.error.script_not_found: ${name}`);
    return script;
  }

  /** What wrangler reads before an upload: the script's tag and its Durable Object migration tag. */
  service(name: string) {
    const script = this.#script(name);
    return {
      id: name,
      default_environment: {
        environment: "production",
        script: {
          id: name,
          tag: script.tag,
          tags: [],
          migration_tag: script.migration_tag,
          last_deployed_from: "wrangler",
          created_on: script.created_on,
        },
      },
    };
  }

  /** The Worker resource (`workers/workers/{name}`): wrangler reads its workers.dev state. */
  worker(name: string) {
    const script = this.#script(name);
    return { id: script.tag, name, subdomain: script.subdomain, created_on: script.created_on };
  }

  /** workers.dev and preview URLs on or off (`scripts/{name}/subdomain`). */
  setSubdomain(name: string, body: { enabled?: unknown; previews_enabled?: unknown }) {
    const script = this.#script(name);
    script.subdomain = { enabled: body.enabled === true, previews_enabled: body.previews_enabled === true };
    this.#save();
    return script.subdomain;
  }

  /** Cron Triggers (`scripts/{name}/schedules`). */
  schedules(name: string, replace?: unknown) {
    const script = this.#script(name);
    if (replace !== undefined) {
      if (!Array.isArray(replace)) throw new ApiError(400, 10_001, "schedules are an array of { cron }");
      script.schedules = replace.map((entry: { cron?: unknown }) => ({ cron: String(entry?.cron ?? "") }));
      this.#save();
    }
    return { schedules: script.schedules };
  }

  /** What attaching `origins` as the script's custom domains would change (`domains/changeset`). */
  domainChangeset(name: string, origins: unknown) {
    const script = this.#script(name);
    const wanted = hostnames(origins);
    const owner = (hostname: string) =>
      [...this.#scripts.values()].find((other) => other !== script && other.domains.includes(hostname));
    const entry = (hostname: string) => ({ hostname, service: name, environment: "production" });
    return {
      added: wanted.filter((hostname) => !script.domains.includes(hostname) && !owner(hostname)).map(entry),
      removed: script.domains.filter((hostname) => !wanted.includes(hostname)).map(entry),
      updated: [],
      conflicting: wanted.filter((hostname) => owner(hostname)).map(entry),
    };
  }

  /** Attaches `origins` as the script's custom domains (`domains/records`, replacing its state). */
  setDomains(name: string, body: { origins?: unknown }) {
    const script = this.#script(name);
    const wanted = hostnames(body.origins);
    const taken = wanted.find((hostname) =>
      [...this.#scripts.values()].some((other) => other !== script && other.domains.includes(hostname)),
    );
    if (taken) throw new ApiError(409, 100_117, `${taken} is the custom domain of another Worker`);
    script.domains = wanted;
    this.#save();
    return wanted.map((hostname) => ({ hostname, service: name, environment: "production" }));
  }

  settings(name: string) {
    const script = this.#script(name);
    const current = this.#current(script);
    return {
      bindings: current?.resources.bindings.filter((binding) => binding.type !== "secret_text") ?? [],
      compatibility_date: current?.resources.script_runtime.compatibility_date,
      compatibility_flags: current?.resources.script_runtime.compatibility_flags ?? [],
    };
  }

  secrets(name: string) {
    return [...this.#script(name).secrets.keys()].sort().map((secret) => ({ name: secret, type: "secret_text" }));
  }

  /** `wrangler secret put`: the script's secret, which versions uploaded from now on inherit. */
  putSecret(name: string, secret: { name?: unknown; text?: unknown; type?: unknown }) {
    if (typeof secret.name !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(secret.name)) {
      throw new ApiError(400, 10_001, "a secret needs a name");
    }
    if (typeof secret.text !== "string") throw new ApiError(400, 10_001, "a secret needs its text");
    this.#script(name).secrets.set(secret.name, secret.text);
    this.#save();
    return { name: secret.name, type: "secret_text" };
  }

  /** `wrangler versions upload`: a new version, not deployed. */
  uploadVersion(name: string, upload: Upload, strictInherit: boolean): Version {
    const script = this.#script(name);
    if (upload.metadata.migrations) {
      throw new ApiError(
        400,
        10_211,
        "Durable Object migrations cannot be applied by a version upload; deploy the script with them",
      );
    }
    return this.#newVersion(script, upload, strictInherit);
  }

  versions(name: string, page: number, perPage: number) {
    const all = [...this.#script(name).versions].reverse();
    return all.slice((page - 1) * perPage, page * perPage);
  }

  version(name: string, id: string): Version {
    const version = this.#script(name).versions.find((candidate) => candidate.id === id);
    if (!version) throw new ApiError(404, 10_220, `no version ${id} of ${name}`);
    return version;
  }

  deployments(name: string) {
    return { deployments: this.#script(name).deployments };
  }

  /** A gradual deployment: one or two of the script's versions, percentages summing to 100. */
  createDeployment(name: string, body: { strategy?: unknown; versions?: unknown; annotations?: unknown }): Deployment {
    const script = this.#script(name);
    if (body.strategy !== "percentage") throw new ApiError(400, 10_001, 'strategy must be "percentage"');
    const versions = body.versions;
    if (!Array.isArray(versions) || versions.length < 1 || versions.length > 2) {
      throw new ApiError(400, 10_001, "a deployment names one or two versions");
    }
    const split = versions.map((entry: unknown) => {
      const { version_id, percentage } = (entry ?? {}) as { version_id?: unknown; percentage?: unknown };
      if (typeof version_id !== "string" || !script.versions.some((version) => version.id === version_id)) {
        throw new ApiError(400, 10_220, `no version ${String(version_id)} of ${name}`);
      }
      if (typeof percentage !== "number" || !Number.isFinite(percentage) || percentage < 0 || percentage > 100) {
        throw new ApiError(400, 10_001, "a percentage is a number from 0 to 100");
      }
      return { version_id, percentage };
    });
    if (new Set(split.map((entry) => entry.version_id)).size !== split.length) {
      throw new ApiError(400, 10_001, "a version appears twice in the deployment");
    }
    const total = split.reduce((sum, entry) => sum + entry.percentage, 0);
    if (Math.abs(total - 100) > 1e-9) throw new ApiError(400, 10_001, `percentages sum to ${total}, not 100`);
    const annotations = (body.annotations ?? {}) as Annotations;
    return this.#deploy(script, split, { "workers/message": annotations["workers/message"] }, "api");
  }

  /** `wrangler deploy`: the script (created if new), its Durable Object migrations and 100 % of traffic at once. */
  putScript(name: string, upload: Upload): { id: string; tag: string; deployment_id: string; migration_tag?: string } {
    const script = this.#scripts.get(name) ?? this.#create(name);
    const migrations = upload.metadata.migrations;
    if (migrations) {
      if ((migrations.old_tag ?? undefined) !== script.migration_tag) {
        throw new ApiError(
          400,
          10_079,
          `migration old_tag ${migrations.old_tag ?? "(none)"} does not match the script's ${script.migration_tag ?? "(none)"}`,
        );
      }
    }
    const version = this.#newVersion(script, upload, false);
    if (migrations?.new_tag) {
      script.migration_tag = migrations.new_tag;
      version.resources.script_runtime.migration_tag = migrations.new_tag;
    }
    this.#deploy(
      script,
      [{ version_id: version.id, percentage: 100 }],
      { "workers/message": upload.metadata.annotations?.["workers/message"] },
      "wrangler",
    );
    // `deployment_id` is the new version's id (the API's historical name; wrangler reads it so).
    return { id: name, tag: script.tag, deployment_id: version.id, migration_tag: script.migration_tag };
  }

  #create(name: string): Script {
    const script: Script = {
      name,
      tag: createHash("sha256").update(name).digest("hex").slice(0, 32),
      created_on: new Date().toISOString(),
      secrets: new Map(),
      subdomain: { enabled: false, previews_enabled: false },
      schedules: [],
      domains: [],
      versions: [],
      deployments: [],
    };
    this.#scripts.set(name, script);
    return script;
  }

  #current(script: Script): Version | undefined {
    const [latest] = script.deployments;
    const main = latest?.versions.reduce((a, b) => (b.percentage > a.percentage ? b : a));
    return script.versions.find((version) => version.id === main?.version_id);
  }

  #newVersion(script: Script, upload: Upload, strictInherit: boolean): Version {
    const bindings = upload.metadata.bindings ?? [];
    for (const binding of bindings) {
      // `--secrets-file`: secrets set together with the code.
      if (binding.type === "secret_text" && typeof binding.text === "string")
        script.secrets.set(binding.name, binding.text);
    }
    for (const binding of bindings) {
      // A secret named by the config without its value: the version inherits it, and under
      // `bindings_inherit=strict` one the script does not have fails the upload.
      if (binding.type === "inherit" && strictInherit && !script.secrets.has(binding.name)) {
        throw new ApiError(400, 10_021, `binding ${binding.name} is inherited but the script has no such secret`);
      }
    }
    const now = new Date().toISOString();
    const version: Version = {
      id: randomUUID(),
      number: script.versions.length + 1,
      annotations: {
        ...(upload.metadata.annotations?.["workers/message"] !== undefined
          ? { "workers/message": upload.metadata.annotations["workers/message"] }
          : {}),
        ...(upload.metadata.annotations?.["workers/tag"] !== undefined
          ? { "workers/tag": upload.metadata.annotations["workers/tag"] }
          : {}),
        "workers/triggered_by": "upload",
      },
      metadata: { author_email: author, created_on: now, modified_on: now, source: "wrangler" },
      resources: {
        bindings: [
          ...bindings.filter((binding) => binding.type !== "inherit" && binding.type !== "secret_text"),
          ...[...script.secrets.keys()].map((name) => ({ name, type: "secret_text" })),
        ],
        script: {
          etag: createHash("sha256").update(JSON.stringify(upload.modules)).digest("hex"),
          handlers: ["fetch"],
          last_deployed_from: "wrangler",
        },
        script_runtime: {
          ...(upload.metadata.compatibility_date ? { compatibility_date: upload.metadata.compatibility_date } : {}),
          compatibility_flags: upload.metadata.compatibility_flags ?? [],
          ...(script.migration_tag ? { migration_tag: script.migration_tag } : {}),
        },
      },
      modules: upload.modules,
    };
    script.versions.push(version);
    this.#save();
    return version;
  }

  #deploy(
    script: Script,
    versions: Deployment["versions"],
    annotations: Annotations,
    source: Deployment["source"],
  ): Deployment {
    const deployment: Deployment = {
      id: randomUUID(),
      created_on: new Date().toISOString(),
      source,
      strategy: "percentage",
      versions,
      annotations: {
        ...(annotations["workers/message"] !== undefined ? { "workers/message": annotations["workers/message"] } : {}),
        "workers/triggered_by": source === "api" ? "deployment" : "upload",
      },
      author_email: author,
    };
    script.deployments.unshift(deployment);
    this.#save();
    return deployment;
  }
}
