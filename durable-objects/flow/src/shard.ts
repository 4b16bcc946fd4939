/**
 * How many objects a class's flows are spread over. Part of every flow's address: changing it
 * moves flows to other objects, so it changes only with a migration that moves the states.
 */
export const FLOW_SHARDS = 64;

/** The name of the object that hosts flow `id` (FNV-1a of the id, modulo FLOW_SHARDS). */
export function flowShard(id: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < id.length; index++) {
    hash ^= id.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `flows:${hash % FLOW_SHARDS}`;
}
