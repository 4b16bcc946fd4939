import { describe, expect, it } from "vitest";
import { shardOf } from "../src/shard.ts";

describe("shardOf", () => {
  it("is FNV-1a of the key modulo the count: stable, so it can be part of an address", () => {
    expect(shardOf("", 64)).toBe(0x811c9dc5 % 64);
    expect(shardOf("a", 64)).toBe(0xe40c292c % 64);
    expect(shardOf("a", 4)).toBe(0xe40c292c % 4);
  });

  it("spreads ids over every shard", () => {
    const seen = new Set<number>();
    for (let n = 0; n < 200; n++) seen.add(shardOf(`acc_${n.toString(36)}`, 4));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });
});
