/**
 * Which of `count` shards `key` belongs to: FNV-1a (32 bit) of its UTF-16 code units, modulo
 * `count`. Stable across isolates, versions and machines, so it may be part of an address (the
 * object that hosts a flow, the writer of an account).
 */
export function shardOf(key: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index++) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % count;
}
