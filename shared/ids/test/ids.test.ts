import { describe, expect, it } from "vitest";
import {
  createUuidV7Generator,
  decode128,
  encode128,
  formatUuid,
  idTimestamp,
  isId,
  newId,
  newUuidV7,
  randomBytes,
  uuidV7Timestamp,
} from "../src/index.ts";

describe("UUIDv7", () => {
  it("has version 7, the RFC 9562 variant and the current time", () => {
    const before = Date.now();
    const text = newUuidV7();
    expect(text).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const bytes = Uint8Array.from(text.replaceAll("-", "").match(/../g) ?? [], (h) => Number.parseInt(h, 16));
    expect(uuidV7Timestamp(bytes)).toBeGreaterThanOrEqual(before);
    expect(uuidV7Timestamp(bytes)).toBeLessThanOrEqual(Date.now());
  });

  it("stays strictly ordered within one millisecond and across counter overflow", () => {
    const generator = createUuidV7Generator(() => 1_700_000_000_000);
    const ids = Array.from({ length: 10_000 }, () => formatUuid(generator.bytes()));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("stays ordered when the clock goes backwards", () => {
    let now = 2_000;
    const generator = createUuidV7Generator(() => now);
    const first = formatUuid(generator.bytes());
    now = 1_000;
    const second = formatUuid(generator.bytes());
    expect(second > first).toBe(true);
  });

  it("encodes timestamps above 2^32 ms exactly", () => {
    const generator = createUuidV7Generator(() => 0xfedc_ba98_7654);
    expect(uuidV7Timestamp(generator.bytes())).toBe(0xfedc_ba98_7654);
  });
});

describe("base32", () => {
  it("round-trips 128 bits and preserves byte order", () => {
    const low = new Uint8Array(16).fill(0);
    const high = new Uint8Array(16).fill(255);
    expect(encode128(low)).toBe("0".repeat(26));
    expect(encode128(high)).toBe(`7${"z".repeat(25)}`);
    expect(decode128(encode128(high))).toEqual(high);
    expect(encode128(low) < encode128(high)).toBe(true);
  });

  it("encodes and decodes as a 128-bit number written in base 32 would", () => {
    // The reference: the bytes as one big integer, five bits per character from the bottom up.
    const reference = (bytes: Uint8Array) => {
      let value = 0n;
      for (const byte of bytes) value = (value << 8n) | BigInt(byte);
      let text = "";
      for (let i = 0; i < 26; i++) {
        text = "0123456789abcdefghjkmnpqrstvwxyz".charAt(Number(value & 31n)) + text;
        value >>= 5n;
      }
      return text;
    };
    for (let i = 0; i < 2_000; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      expect(encode128(bytes)).toBe(reference(bytes));
      expect(decode128(encode128(bytes))).toEqual(bytes);
    }
    const ascending = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    expect(encode128(ascending)).toBe(reference(ascending));
  });

  it("rejects wrong lengths, foreign characters and overflow", () => {
    expect(decode128("0".repeat(25))).toBeUndefined();
    expect(decode128(`${"0".repeat(25)}u`)).toBeUndefined();
    expect(decode128(`8${"0".repeat(25)}`)).toBeUndefined();
  });
});

describe("prefixed ids", () => {
  it("are prefixed, 26 characters after the prefix, and sort by creation", () => {
    const ids = Array.from({ length: 1_000 }, () => newId("account"));
    expect(ids[0]).toMatch(/^acc_[0-9a-hjkmnp-tv-z]{26}$/);
    expect([...ids].sort()).toEqual(ids);
  });

  it("validate their kind and shape", () => {
    const id = newId("transfer");
    expect(isId("transfer", id)).toBe(true);
    expect(isId("account", id)).toBe(false);
    expect(isId("transfer", `${id}x`)).toBe(false);
    expect(isId("transfer", "trf_00000000000000000000000000")).toBe(false); // not version 7
    expect(isId("transfer", id.toUpperCase())).toBe(false);
  });

  it("carry their creation time", () => {
    const before = Date.now();
    const created = idTimestamp("payment", newId("payment"))?.getTime() ?? 0;
    expect(created).toBeGreaterThanOrEqual(before);
    expect(idTimestamp("account", newId("payment"))).toBeUndefined();
  });
});

describe("randomBytes", () => {
  it("hands out every byte of the pool once, across refills", () => {
    // 4096-byte pool: 1,000 draws of 16 bytes cross three refills; no two draws are alike.
    const drawn = Array.from({ length: 1_000 }, () => formatUuid(randomBytes(16)));
    expect(new Set(drawn).size).toBe(drawn.length);
    expect(randomBytes(5)).toHaveLength(5);
    expect(() => randomBytes(4_097)).toThrow(RangeError);
  });
});
