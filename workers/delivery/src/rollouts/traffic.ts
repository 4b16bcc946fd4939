import { newestSplit, type Split } from "@edgebank/deployments";
import Cloudflare from "cloudflare";
import { deliveryConfig } from "../service.ts";

export type { Split };

const same = (a: Split, b: Split) => {
  const key = (split: Split) =>
    split
      .map((entry) => `${entry.version_id}@${entry.percentage}`)
      .sort()
      .join(",");
  return key(a) === key(b);
};

/**
 * A Worker's traffic through the Workers deployments API (the official client, to
 * CLOUDFLARE_API_BASE_URL): what the newest deployment splits, and a new deployment when the
 * rollout wants another split. Level-triggered: asking for the split in force changes nothing,
 * so a RolloutDO that crashed between its commit and this call mends it on its next alarm.
 */
export class Traffic {
  readonly #client: Cloudflare;
  readonly #accountId: string;

  constructor(env: object) {
    const config = deliveryConfig(env);
    this.#client = new Cloudflare({
      apiToken: config.CLOUDFLARE_API_TOKEN,
      baseURL: config.CLOUDFLARE_API_BASE_URL,
      maxRetries: 2,
      timeout: 15_000,
    });
    this.#accountId = config.CLOUDFLARE_ACCOUNT_ID;
  }

  /** The split of the Worker's newest deployment (empty when it has none, or does not exist). */
  current(worker: string): Promise<Split> {
    return newestSplit(this.#client, this.#accountId, worker);
  }

  /** Makes the Worker's deployment `split`; answers whether it had to change. */
  async ensure(worker: string, split: Split, message: string): Promise<boolean> {
    if (same(await this.current(worker), split)) return false;
    await this.#client.workers.scripts.deployments.create(worker, {
      account_id: this.#accountId,
      strategy: "percentage",
      versions: split,
      annotations: { "workers/message": message.slice(0, 100) },
    });
    return true;
  }
}
