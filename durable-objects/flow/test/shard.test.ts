import { describe, expect, it } from "vitest";
import { FLOW_SHARDS, flowShard } from "../src/shard.ts";

describe("flowShard", () => {
  it("is FNV-1a of the id modulo the shard count, so an address never moves between releases", () => {
    // FNV-1a 32-bit: "" is the offset basis 0x811c9dc5, "a" is 0xe40c292c (the published vectors).
    expect(flowShard("")).toBe(`flows:${0x811c9dc5 % FLOW_SHARDS}`);
    expect(flowShard("a")).toBe(`flows:${0xe40c292c % FLOW_SHARDS}`);
    expect(flowShard("trf_0193a4b2c3d47e8f9a0b1c2d3e4f5a6b")).toBe("flows:4");
    expect(FLOW_SHARDS).toBe(64);
  });

  it("spreads ids evenly over the shards", () => {
    const counts = new Map<string, number>();
    const ids = 64_000;
    for (let index = 0; index < ids; index++) {
      const shard = flowShard(`${index % 2 ? "trf" : "pay"}_${crypto.randomUUID()}`);
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    expect(counts.size).toBe(FLOW_SHARDS);
    const mean = ids / FLOW_SHARDS;
    for (const [shard, count] of counts) {
      expect(Math.abs(count - mean) / mean, shard).toBeLessThan(0.15);
    }
  });
});
