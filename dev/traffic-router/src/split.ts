/**
 * How Cloudflare routes a request among the versions of a Worker's deployment, for the local
 * traffic router: a version override first (only for a version in the deployment), then the
 * version-affinity key (hashed: a key keeps its version, and as the new version's share grows
 * keys only move towards it), then chance by the percentages.
 */
export type Split = { version_id: string; percentage: number }[];

export interface Choice {
  versionId: string;
  by: "override" | "key" | "chance";
}

/**
 * The `Cloudflare-Workers-Version-Overrides` dictionary (RFC 8941: `worker="version", …`) as a
 * map; an entry that is not a key with a string value is ignored, as Cloudflare ignores it.
 */
export function parseOverrides(header: string | null | undefined): Map<string, string> {
  const overrides = new Map<string, string>();
  for (const member of (header ?? "").split(",")) {
    const match = /^\s*([a-z*][a-z0-9_.*-]*)="([^"\\]*)"\s*$/.exec(member);
    if (match?.[1] && match[2] !== undefined) overrides.set(match[1], match[2]);
  }
  return overrides;
}

/** A key's place in [0, 100): FNV-1a, so the same key always lands on the same spot. */
export function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % 10_000) / 100;
}

/** The version at `point` in [0, 100): each version takes its percentage of the line, in deployment order. */
function versionAt(split: Split, point: number): string {
  let edge = 0;
  for (const entry of split) {
    edge += entry.percentage;
    if (point < edge) return entry.version_id;
  }
  const last = split.at(-1);
  if (!last) throw new Error("a deployment has at least one version");
  return last.version_id;
}

export function chooseVersion(
  split: Split,
  worker: string,
  request: { overrides?: string | null; key?: string | null },
  random: () => number = Math.random,
): Choice {
  const wanted = parseOverrides(request.overrides).get(worker);
  if (wanted && split.some((entry) => entry.version_id === wanted)) return { versionId: wanted, by: "override" };
  // A version at 0 % is in the deployment for overrides only.
  const serving = split.filter((entry) => entry.percentage > 0);
  if (request.key) return { versionId: versionAt(serving, bucketOf(request.key)), by: "key" };
  return { versionId: versionAt(serving, random() * 100), by: "chance" };
}
