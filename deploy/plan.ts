import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";
import { migrateService } from "../dev/postgres/migrate.ts";
import { allServices, dataServices } from "../dev/services.ts";
import { type CloudflareAccess, CloudflareApi, type RemoteWorker } from "./cloudflare.ts";
import type { EnvironmentName } from "./config/environments.ts";
import { appliedUpTo, readMigrations } from "./migrations/files.ts";
import { judgePending, type Verdict } from "./migrations/verdict.ts";
import { bundleHash, deployAtomically, uploadVersion } from "./wrangler.ts";

export interface DeployOptions {
  environment: EnvironmentName;
  /** Check and plan only: nothing is migrated or uploaded. */
  dryRun: boolean;
  access: CloudflareAccess;
  /** The direct (not pooled) URL of each service's database, for its migrations. */
  databaseUrls: Record<string, string | undefined>;
  /** The commit the versions are built from: their message names it. */
  commit: { sha: string; subject: string };
  /** Asked before a version with Durable Object class migrations goes to 100 % at once. */
  confirmAtomic: (question: string) => Promise<boolean>;
  /** Workers to deploy by service name (default: all). */
  only?: string[];
  /** Where `migrations/<service>/` are (the repository by default; tests point elsewhere). */
  migrationsRoot?: URL;
  log: (line: string) => void;
}

export interface Uploaded {
  service: string;
  worker: string;
  versionId: string;
  tag: string;
  /** Deployed at 100 % with its Durable Object migrations; the others await their rollout. */
  atomic: boolean;
}

export interface DeployResult {
  migrated: { service: string; tags: string[] }[];
  uploaded: Uploaded[];
  unchanged: string[];
}

/** A deploy that must not start (or go on): every reason, each naming what to fix. */
export class DeployRefused extends Error {
  readonly reasons: string[];
  constructor(reasons: string[]) {
    super(`deploy refused:\n${reasons.map((reason) => `  - ${reason}`).join("\n")}`);
    this.reasons = reasons;
  }
}

/** The environment variable holding a service's database URL for migrations. */
export const databaseUrlVariable = (service: string) => `${service.toUpperCase()}_DATABASE_URL`;

const repositoryRoot = new URL("../", import.meta.url);

/**
 * `npm run deploy`: configuration and secrets checked, migrations judged and applied, then a new
 * version of every Worker whose bundle changed, uploaded but not deployed (a rollout moves
 * traffic to it), except a version carrying Durable Object class migrations, which Cloudflare can
 * only deploy at once, and which goes out so after confirmation.
 */
export async function deploy(options: DeployOptions): Promise<DeployResult> {
  const { environment, log } = options;
  const services = allServices.filter((service) => !options.only || options.only.includes(service.name));
  const unknown = (options.only ?? []).filter((name) => !allServices.some((service) => service.name === name));
  if (unknown.length > 0) throw new DeployRefused([`no Worker named ${unknown.join(", ")}`]);
  const workers = services.map((service) => {
    const config = fileURLToPath(new URL(service.config, repositoryRoot));
    const resolved = unstable_readConfig({ config, env: environment }, { hideWarnings: true });
    return { service, config, resolved };
  });

  // 1. Everything the deploy needs, before it changes anything.
  const reasons: string[] = [];
  const migrating = dataServices.filter((service) => services.includes(service));
  for (const service of migrating) {
    if (!options.databaseUrls[service.name]) {
      reasons.push(
        `${databaseUrlVariable(service.name)} is not set: the ${service.name} database's migrations need it`,
      );
    }
  }
  const api = new CloudflareApi(options.access);
  const remote = new Map<string, RemoteWorker>();
  for (const { service, resolved } of workers) {
    const worker = await api.worker(resolved.name);
    remote.set(service.name, worker);
    if (!worker.exists) {
      reasons.push(
        `${resolved.name} does not exist yet: create it once with its secrets ` +
          `(wrangler deploy --env ${environment} -c ${service.config} --secrets-file <file>)`,
      );
      continue;
    }
    for (const secret of resolved.secrets?.required ?? []) {
      if (!worker.secrets.includes(secret)) {
        reasons.push(
          `${resolved.name} is missing the secret ${secret} ` +
            `(wrangler secret put ${secret} --env ${environment} -c ${service.config})`,
        );
      }
    }
    if (worker.split.length > 1) {
      const split = worker.split.map((entry) => `${entry.versionId} at ${entry.percentage} %`).join(", ");
      reasons.push(`${resolved.name} is in the middle of a rollout (${split}): promote or abort it first`);
    }
  }
  if (reasons.length > 0) throw new DeployRefused(reasons);

  // 2. Migrations: judged all together, applied only if every one may go.
  const verdicts: { service: string; url: string; pending: Verdict[] }[] = [];
  for (const service of migrating) {
    const url = options.databaseUrls[service.name] ?? "";
    const migrations = await readMigrations(service.name, options.migrationsRoot);
    const pending = judgePending(service.name, migrations, await appliedUpTo(service.name, url));
    verdicts.push({ service: service.name, url, pending });
    for (const verdict of pending) {
      for (const refusal of verdict.refused) reasons.push(`migration ${service.name}/${verdict.tag}: ${refusal}`);
    }
  }
  if (reasons.length > 0) throw new DeployRefused(reasons);
  const migrated: DeployResult["migrated"] = [];
  for (const { service, url, pending } of verdicts) {
    if (pending.length === 0) continue;
    const tags = pending.map((verdict) => verdict.tag);
    for (const verdict of pending) {
      for (const caution of verdict.review.cautions) log(`  caution ${service}/${verdict.tag}: ${caution.detail}`);
    }
    if (options.dryRun) {
      log(`${service}: would apply ${tags.join(", ")}`);
    } else {
      await migrateService(service, url, options.migrationsRoot ? fileURLToPath(options.migrationsRoot) : undefined);
      log(`${service}: applied ${tags.join(", ")}`);
    }
    migrated.push({ service, tags });
  }
  if (migrated.length === 0) log("migrations: every database is up to date");

  // 3. Versions: built, compared with what serves traffic, uploaded when they differ.
  const result: DeployResult = { migrated, uploaded: [], unchanged: [] };
  const message = `${options.commit.sha.slice(0, 12)} ${options.commit.subject}`.slice(0, 100);
  for (const { service, config, resolved } of workers) {
    const worker = remote.get(service.name);
    if (!worker?.exists) continue;
    const tag = await bundleHash(config, environment, deployedShape(resolved));
    if (worker.stableTag === tag) {
      log(`${resolved.name}: unchanged (${tag})`);
      result.unchanged.push(resolved.name);
      continue;
    }
    const latestMigration = resolved.migrations.at(-1)?.tag;
    const atomic = latestMigration !== undefined && latestMigration !== worker.migrationTag;
    const upload = {
      config,
      environment,
      tag,
      message,
      vars: { SERVICE_VERSION: options.commit.sha.slice(0, 12) },
    };
    if (options.dryRun) {
      log(
        `${resolved.name}: would upload ${tag}${atomic ? `, deployed at once (Durable Object migration ${latestMigration})` : ""}`,
      );
      continue;
    }
    if (atomic) {
      const question =
        `${resolved.name} carries the Durable Object migration ${latestMigration} (the account has ` +
        `${worker.migrationTag ?? "none"}). Cloudflare cannot deploy such a version gradually: it will serve ` +
        "100 % of traffic at once, without a canary. Deploy it now?";
      if (!(await options.confirmAtomic(question))) {
        throw new DeployRefused([
          `${resolved.name}: its Durable Object migration was not confirmed; nothing uploaded for it`,
        ]);
      }
      const versionId = await deployAtomically(options.access, upload);
      log(`${resolved.name}: deployed ${versionId} (${tag}) at 100 % with its Durable Object migration`);
      result.uploaded.push({ service: service.name, worker: resolved.name, versionId, tag, atomic: true });
    } else {
      const versionId = await uploadVersion(options.access, upload);
      log(`${resolved.name}: uploaded ${versionId} (${tag}), not yet serving traffic`);
      result.uploaded.push({ service: service.name, worker: resolved.name, versionId, tag, atomic: false });
    }
  }
  return result;
}

/** What of a resolved config reaches Cloudflare with the code (a change here is a new version). */
function deployedShape(resolved: ReturnType<typeof unstable_readConfig>) {
  return {
    compatibility_date: resolved.compatibility_date,
    compatibility_flags: resolved.compatibility_flags,
    vars: resolved.vars,
    secrets: resolved.secrets,
    hyperdrive: resolved.hyperdrive,
    durable_objects: resolved.durable_objects,
    migrations: resolved.migrations,
    services: resolved.services,
    analytics_engine_datasets: resolved.analytics_engine_datasets,
    routes: resolved.routes,
    triggers: resolved.triggers,
  };
}
