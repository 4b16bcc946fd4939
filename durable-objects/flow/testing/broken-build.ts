/**
 * Deliberately broken builds, for proving the chaos checker (chaos/) catches what it must:
 * `EDGEBANK_BROKEN=<kind>[,<kind>…]` switches a test build's bug on (`npm run chaos -- --break
 * …` sets it). Each bug hits one in five of the items it could hit (chosen by a hash of their
 * id, the same on every run), so a short run meets it many times and never all the time.
 * - `apply-twice`: accounts applies a flow's credit a second time under another operation id.
 * - `lost-ledger-entry`: the ledger answers "recorded" and stores nothing.
 * - `dropped-event`: the notifications consumer marks an event handled and does nothing with it.
 * - `stale-answer`: transfers answers a repeat of a completed transfer's key with a stale 202.
 * Never deployed: only the test builds read it, and production runs src/index.ts.
 */
export const brokenBuildKinds = ["apply-twice", "lost-ledger-entry", "dropped-event", "stale-answer"] as const;
export type BrokenBuild = (typeof brokenBuildKinds)[number];

/** Whether the build's `kind` of bug is switched on. */
export function isBroken(env: object, kind: BrokenBuild): boolean {
  const value = (env as { EDGEBANK_BROKEN?: string }).EDGEBANK_BROKEN ?? "";
  return value.split(",").includes(kind);
}

/** Whether the bug hits this item: one id in five, the same ids on every run. */
export function hits(id: string): boolean {
  let hash = 2166136261;
  for (const char of id) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return hash % 5 === 0;
}
