/** Crockford's base32 alphabet: no I, L, O, U; lexical order equals numeric order. */
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
const values = new Map([...alphabet].map((char, index) => [char, index]));

/**
 * Encodes 16 bytes (128 bits) as 26 Crockford base32 characters, most significant first, so the
 * text sorts like the bytes. The first character carries the top 3 bits (128 = 3 + 25 × 5).
 */
export function encode128(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError("encode128 takes exactly 16 bytes");
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let text = "";
  for (let i = 0; i < 26; i++) {
    text = alphabet.charAt(Number(value & 31n)) + text;
    value >>= 5n;
  }
  return text;
}

/** Decodes 26 Crockford base32 characters into 16 bytes; undefined if the text is not valid. */
export function decode128(text: string): Uint8Array | undefined {
  if (text.length !== 26) return undefined;
  let value = 0n;
  for (const char of text) {
    const digit = values.get(char);
    if (digit === undefined) return undefined;
    value = (value << 5n) | BigInt(digit);
  }
  if (value >> 128n !== 0n) return undefined;
  const bytes = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(value & 255n);
    value >>= 8n;
  }
  return bytes;
}
