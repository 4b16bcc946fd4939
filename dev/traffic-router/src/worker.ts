import { chooseVersion, type Split } from "./split.ts";

/**
 * The local traffic router (development only): `npm run dev -- --version <service>[=<fault>]`
 * runs two versions of a Worker side by side under names of their own, and this Worker takes the
 * Worker's name, so every request and service-binding call to it comes here and goes on to one
 * version: by the deployment the Cloudflare API stand-in holds (what the rollout controller and
 * `wrangler versions deploy` change), as Cloudflare routes (split.ts). The answer names the
 * version that served it (`x-edgebank-version`), for the tests and for a developer's curl.
 */
interface Fetcher {
  fetch(request: Request): Promise<Response>;
}

interface RouterEnv {
  /** The Worker this router stands for (`edgebank-transfers`). */
  ROUTED_WORKER: string;
  /** JSON: version id → the binding of the Worker running that version. */
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

export default {
  async fetch(request: Request, env: RouterEnv): Promise<Response> {
    const versions = JSON.parse(env.VERSIONS) as Record<string, string>;
    const choice = chooseVersion(await deployment(env), env.ROUTED_WORKER, {
      overrides: request.headers.get("cloudflare-workers-version-overrides"),
      key: request.headers.get("cloudflare-workers-version-key"),
    });
    const binding = env[versions[choice.versionId] ?? ""] as Fetcher | undefined;
    if (!binding) {
      return Response.json(
        { title: `version ${choice.versionId} of ${env.ROUTED_WORKER} is not running here` },
        { status: 503 },
      );
    }
    const answer = await binding.fetch(request);
    const response = new Response(answer.body, answer);
    response.headers.set("x-edgebank-version", choice.versionId);
    return response;
  },
};
