import { newestSplit, notFound } from "@edgebank/deployments";
import Cloudflare from "cloudflare";

/** What a deploy needs to reach the Cloudflare API (wrangler reads the same variables). */
export interface CloudflareAccess {
  accountId: string;
  apiToken: string;
  /** `CLOUDFLARE_API_BASE_URL`: the development stand-in locally and in CI, the real API otherwise. */
  baseUrl: string;
}

/** A Worker as the account has it: absent, or its Durable Object migration tag and current split. */
export type RemoteWorker =
  | { exists: false }
  | {
      exists: true;
      migrationTag?: string;
      secrets: string[];
      /** The newest deployment's versions, largest share first (two while a rollout runs). */
      split: { versionId: string; percentage: number }[];
      /** The `workers/tag` of the version serving most traffic: the bundle hash it was uploaded with. */
      stableTag?: string;
    };

/** The calls a deploy makes itself, through the official client (uploads go through wrangler). */
export class CloudflareApi {
  readonly #client: Cloudflare;
  readonly #accountId: string;

  constructor(access: CloudflareAccess) {
    this.#client = new Cloudflare({
      apiToken: access.apiToken,
      baseURL: access.baseUrl,
      maxRetries: 2,
      timeout: 30_000,
    });
    this.#accountId = access.accountId;
  }

  async worker(name: string): Promise<RemoteWorker> {
    const account_id = this.#accountId;
    try {
      // The service's metadata is the one place its Durable Object migration tag is read from
      // (as wrangler does); the typed client has no method for it.
      const service = await this.#client.get<{
        result: { default_environment: { script: { migration_tag?: string } } };
      }>(`/accounts/${account_id}/workers/services/${name}`);
      const secrets: string[] = [];
      for await (const secret of this.#client.workers.scripts.secrets.list(name, { account_id })) {
        if (secret.name) secrets.push(secret.name);
      }
      const split = (await newestSplit(this.#client, account_id, name))
        .sort((a, b) => b.percentage - a.percentage)
        .map(({ version_id, percentage }) => ({ versionId: version_id, percentage }));
      const stable = split[0]
        ? // The API returns a version's annotations; the client's type leaves them out.
          ((await this.#client.workers.scripts.versions.get(split[0].versionId, { account_id, script_name: name })) as {
            annotations?: { "workers/tag"?: string };
          })
        : undefined;
      const migrationTag = service.result.default_environment.script.migration_tag;
      const stableTag = stable?.annotations?.["workers/tag"];
      return {
        exists: true,
        secrets,
        split,
        ...(migrationTag ? { migrationTag } : {}),
        ...(stableTag ? { stableTag } : {}),
      };
    } catch (error) {
      if (notFound(error)) return { exists: false };
      throw error;
    }
  }
}
