import Cloudflare from "cloudflare";

/** What a Worker's deployment splits its traffic into: each version and its percentage. */
export type Split = { version_id: string; percentage: number }[];

/**
 * The split of a Worker's newest deployment, read through the official client: empty when the
 * Worker has no deployment or does not exist. One reader for the deploy (a Node CLI) and the
 * rollout controller (a Worker), because the API answers `{ deployments }` (newest first) where
 * the client's typed list expects a page of items, so both read the response as the API
 * reference documents it.
 */
export async function newestSplit(client: Cloudflare, accountId: string, worker: string): Promise<Split> {
  try {
    const { result } = await client.get<{ result: { deployments: { versions: Split }[] } }>(
      `/accounts/${accountId}/workers/scripts/${worker}/deployments`,
    );
    return (result.deployments[0]?.versions ?? []).map(({ version_id, percentage }) => ({ version_id, percentage }));
  } catch (error) {
    if (notFound(error)) return [];
    throw error;
  }
}

/** The API's answer for a Worker (or anything else) the account does not have: 404, code 10007. */
export function notFound(error: unknown): boolean {
  return (
    error instanceof Cloudflare.APIError &&
    (error.status === 404 || error.errors.some((e) => (e as { code?: number }).code === 10_007))
  );
}
