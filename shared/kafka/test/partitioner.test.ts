import { describe, expect, it } from "vitest";
import { murmur2, partitionForKey } from "../src/partitioner.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("Kafka's default partitioner", () => {
  it("murmur2 matches the Java client's own test vectors (UtilsTest.testMurmur2)", () => {
    const vectors: Array<[string, number]> = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [input, hash] of vectors) expect(murmur2(bytes(input)), input).toBe(hash);
  });

  it("places a key by toPositive(murmur2) % partitions, the same every time", () => {
    // toPositive(-973932308) = 1173551340; 1173551340 % 6 = 0, % 7 = 2.
    expect(partitionForKey("21", 6)).toBe(1173551340 % 6);
    expect(partitionForKey("21", 7)).toBe(1173551340 % 7);
    expect(partitionForKey(bytes("21"), 7)).toBe(partitionForKey("21", 7));
    const spread = new Set(Array.from({ length: 200 }, (_, i) => partitionForKey(`trf_${i}`, 8)));
    expect(spread.size).toBe(8);
    expect(() => partitionForKey("21", 0)).toThrow(RangeError);
  });
});
