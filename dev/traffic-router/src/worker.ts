import { WorkerEntrypoint } from "cloudflare:workers";
import { callerOf, rpcEntrypoints } from "@edgebank/contracts";
import { chooseVersion, type Split } from "./split.ts";

/**
 * The local traffic router (development only): `npm run dev -- --version <service>[=<fault>]`
 * runs two versions of a Worker side by side under names of their own, and this Worker takes the
 * Worker's name, so every request, service-binding call, Workers RPC call and Cron Trigger meant
 * for it comes here and goes on to one version: by the deployment the Cloudflare API stand-in
 * holds (what the rollout controller and `wrangler versions deploy` change), as Cloudflare routes
 * (split.ts). An HTTP answer names the version that served it (`x-edgebank-version`), for the
 * tests and for a developer's curl.
 *
 * Bindings (written by dev/stack/versions.ts): `V<i>` is version i's default entrypoint, and
 * `V<i>_<Entrypoint>_<caller>` its RPC entrypoint with the props of that caller's binding, so the
 * version sees the same `ctx.props.caller` it would see without the router in between.
 */
interface RouterEnv {
  /** The Worker this router stands for (`edgebank-transfers`). */
  ROUTED_WORKER: string;
  /** JSON: version id → the binding prefix of the Worker running that version (`V0`). */
  VERSIONS: string;
  CLOUDFLARE_API_BASE_URL: string;
  CLOUDFLARE_ACCOUNT_ID: string;
  CLOUDFLARE_API_TOKEN: string;
  [binding: string]: unknown;
}

/** How long a deployment read from the API is used (Cloudflare takes seconds to apply one). */
const FRESH_MS = 500;
let cached: { split: Split; at: number } | undefined;

async function deployment(env: RouterEnv): Promise<Split> {
  if (cached && Date.now() - cached.at < FRESH_MS) return cached.split;
  const response = await fetch(
    `${env.CLOUDFLARE_API_BASE_URL}/accounts/${env.CLOUDFLARE_ACCOUNT_ID}/workers/scripts/${env.ROUTED_WORKER}/deployments`,
    { headers: { authorization: `Bearer ${env.CLOUDFLARE_API_TOKEN}` } },
  );
  if (!response.ok) throw new Error(`deployments of ${env.ROUTED_WORKER}: ${response.status}`);
  const body = (await response.json()) as { result: { deployments: { versions: Split }[] } };
  const split = body.result.deployments[0]?.versions;
  if (!split?.length) throw new Error(`${env.ROUTED_WORKER} has no deployment`);
  cached = { split, at: Date.now() };
  return split;
}

/** The version an invocation goes to, and the binding prefix of the Worker running it. */
async function route(
  env: RouterEnv,
  request: { overrides?: string | null; key?: string | null } = {},
): Promise<{ versionId: string; prefix: string }> {
  const { versionId } = chooseVersion(await deployment(env), env.ROUTED_WORKER, request);
  const prefix = (JSON.parse(env.VERSIONS) as Record<string, string>)[versionId];
  if (!prefix) throw new Error(`version ${versionId} of ${env.ROUTED_WORKER} is not running here`);
  return { versionId, prefix };
}

interface Fetcher {
  fetch(request: Request): Promise<Response>;
  scheduled(options: { scheduledTime: Date; cron: string }): Promise<{ outcome: string; noRetry: boolean }>;
}

export default {
  async fetch(request: Request, env: RouterEnv): Promise<Response> {
    let target: { versionId: string; prefix: string };
    try {
      target = await route(env, {
        overrides: request.headers.get("cloudflare-workers-version-overrides"),
        key: request.headers.get("cloudflare-workers-version-key"),
      });
    } catch (error) {
      return Response.json(
        { title: error instanceof Error ? error.message : String(error), status: 503 },
        { status: 503, headers: { "content-type": "application/problem+json" } },
      );
    }
    const answer = await (env[target.prefix] as Fetcher).fetch(request);
    const response = new Response(answer.body, answer);
    response.headers.set("x-edgebank-version", target.versionId);
    return response;
  },

  /** A Cron Trigger goes to one version, chosen as for a request without a key. */
  async scheduled(controller: ScheduledController, env: RouterEnv): Promise<void> {
    const { prefix } = await route(env);
    const result = await (env[prefix] as Fetcher).scheduled({
      scheduledTime: new Date(controller.scheduledTime),
      cron: controller.cron,
    });
    if (result.outcome !== "ok") throw new Error(`scheduled ${controller.cron} on ${prefix}: ${result.outcome}`);
  },
};

/**
 * The router's stand-in for one RPC entrypoint: each method of its contract, forwarded to the
 * same entrypoint of the chosen version through the binding that carries the caller's props.
 * (Workers RPC serves methods of the class's prototype only, so each is defined there.)
 */
function routedEntrypoint(name: keyof typeof rpcEntrypoints) {
  class Routed extends WorkerEntrypoint<RouterEnv> {}
  for (const method of Object.keys(rpcEntrypoints[name])) {
    Object.defineProperty(Routed.prototype, method, {
      async value(this: { env: RouterEnv; ctx: { props?: unknown } }, ...args: unknown[]) {
        const env = this.env;
        const { prefix } = await route(env);
        const caller = callerOf(this.ctx.props) ?? "";
        const target = env[`${prefix}_${name}_${caller}`] as Record<string, (...a: unknown[]) => Promise<unknown>>;
        if (!target) throw new Error(`${env.ROUTED_WORKER}: no ${name} binding for caller "${caller}"`);
        return target[method]?.(...args);
      },
    });
  }
  return Routed;
}

export const AccountsRpc = routedEntrypoint("AccountsRpc");
export const InventoryRpc = routedEntrypoint("InventoryRpc");
export const LedgerRpc = routedEntrypoint("LedgerRpc");
export const PaymentsRpc = routedEntrypoint("PaymentsRpc");
