/** Crockford's base32 alphabet: no I, L, O, U; lexical order equals numeric order. */
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
/** Each character code's digit, -1 where the character is not in the alphabet. */
const digits = new Int8Array(128).fill(-1);
for (let index = 0; index < alphabet.length; index++) digits[alphabet.charCodeAt(index)] = index;

/**
 * Encodes 16 bytes (128 bits) as 26 Crockford base32 characters, most significant first, so the
 * text sorts like the bytes. The first character carries the top 3 bits (130 = 2 zero bits +
 * 128, = 26 × 5); bits move through a small integer buffer, never more than 12 at a time.
 */
export function encode128(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError("encode128 takes exactly 16 bytes");
  let text = "";
  let buffer = 0;
  let bits = 2; // the two leading zero bits
  for (let index = 0; index < 16; index++) {
    buffer = (buffer << 8) | (bytes[index] ?? 0);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text += alphabet[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return text;
}

/** Decodes 26 Crockford base32 characters into 16 bytes; undefined if the text is not valid. */
export function decode128(text: string): Uint8Array | undefined {
  if (text.length !== 26) return undefined;
  const first = digits[text.charCodeAt(0)] ?? -1;
  if (first < 0 || first > 7) return undefined; // more than 128 bits, or not base32
  const bytes = new Uint8Array(16);
  let buffer = first;
  let bits = 3;
  let index = 0;
  for (let position = 1; position < 26; position++) {
    const digit = digits[text.charCodeAt(position)] ?? -1;
    if (digit < 0) return undefined;
    buffer = (buffer << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[index++] = (buffer >> bits) & 255;
      buffer &= (1 << bits) - 1;
    }
  }
  return bytes;
}
