import { randomBytes } from "./random.ts";

/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version, 12 bits of sub-millisecond ordering,
 * variant, 62 random bits. Within one millisecond the 12-bit field counts up from a random
 * start (RFC 9562 §6.2, method 1), so ids made by one isolate sort in creation order; when it
 * overflows, the timestamp is advanced by one millisecond rather than losing the order.
 */
export interface UuidV7Generator {
  /** 16 bytes of a new UUIDv7. */
  bytes(): Uint8Array;
}

export function createUuidV7Generator(
  now: () => number = Date.now,
  random: (count: number) => Uint8Array = randomBytes,
): UuidV7Generator {
  let lastMs = -1;
  let counter = 0;
  return {
    bytes() {
      const bytes = random(16);
      let ms = now();
      if (ms <= lastMs) {
        ms = lastMs;
        counter += 1;
        if (counter > 0xfff) {
          ms += 1;
          counter = (bytes[6] ?? 0) & 0x7f; // keep headroom for further ids in the new millisecond
        }
      } else {
        counter = ((bytes[6] ?? 0) & 0x7f) << 4; // random start in the lower half of 12 bits
      }
      lastMs = ms;
      // 48-bit big-endian timestamp; Math.floor division keeps it exact above 2^32.
      let t = ms;
      for (let i = 5; i >= 0; i--) {
        bytes[i] = t % 256;
        t = Math.floor(t / 256);
      }
      bytes[6] = 0x70 | ((counter >> 8) & 0x0f);
      bytes[7] = counter & 0xff;
      bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
      return bytes;
    },
  };
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** Canonical 8-4-4-4-12 lower-case hex form of 16 bytes. */
export function formatUuid(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += HEX[byte];
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Milliseconds since the Unix epoch encoded in a UUIDv7's first 48 bits. */
export function uuidV7Timestamp(bytes: Uint8Array): number {
  let ms = 0;
  for (let i = 0; i < 6; i++) ms = ms * 256 + (bytes[i] ?? 0);
  return ms;
}
