/**
 * Random bytes from the runtime's CSPRNG, drawn 4 KiB at a time: one `getRandomValues` call
 * (~10 µs in workerd, whatever its size) serves ~250 ids instead of one. Every byte is handed
 * out once.
 */
const pool = new Uint8Array(4096);
let taken = pool.length;

/** `count` (at most 4096) new random bytes. */
export function randomBytes(count: number): Uint8Array {
  if (count > pool.length) throw new RangeError(`randomBytes takes at most ${pool.length} bytes`);
  // Filled on first use, inside an invocation: Workers refuse random values at startup.
  if (taken + count > pool.length) {
    crypto.getRandomValues(pool);
    taken = 0;
  }
  const bytes = pool.slice(taken, taken + count);
  taken += count;
  return bytes;
}
