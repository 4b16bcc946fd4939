import { describe, expect, it } from "vitest";
import { bucketOf, chooseVersion, parseOverrides, type Split } from "../src/split.ts";

const worker = "edgebank-transfers";
const split = (canary: number): Split => [
  { version_id: "stable", percentage: 100 - canary },
  { version_id: "canary", percentage: canary },
];

describe("the local traffic router's choice of a version", () => {
  it("splits requests without a key by the percentages, within ±3 points over 2,000 requests", () => {
    for (const canary of [5, 10, 25, 50]) {
      let served = 0;
      for (let i = 0; i < 2_000; i++) if (chooseVersion(split(canary), worker, {}).versionId === "canary") served += 1;
      expect(Math.abs((served / 2_000) * 100 - canary)).toBeLessThanOrEqual(3);
    }
  });

  it("keeps a version key on one version, and moves keys only towards the new version as it grows", () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => `usr_${i}`);
    let previous = new Set<string>();
    for (const canary of [0, 5, 10, 25, 50, 100]) {
      const onCanary = new Set(
        keys.filter((key) => chooseVersion(split(canary), worker, { key }).versionId === "canary"),
      );
      for (const key of previous) expect(onCanary.has(key)).toBe(true);
      // The same key, asked again, lands where it did.
      for (const key of keys.slice(0, 50)) {
        expect(chooseVersion(split(canary), worker, { key }).versionId).toBe(onCanary.has(key) ? "canary" : "stable");
      }
      expect(Math.abs((onCanary.size / keys.length) * 100 - canary)).toBeLessThanOrEqual(3);
      previous = onCanary;
    }
    expect(bucketOf("usr_1")).toBe(bucketOf("usr_1"));
  });

  it("honours an override for a version in the deployment, even at 0 %, and ignores any other", () => {
    const probing = split(0);
    const header = `${worker}="canary", edgebank-ledger="x"`;
    expect(chooseVersion(probing, worker, { overrides: header, key: "usr_1" })).toEqual({
      versionId: "canary",
      by: "override",
    });
    expect(chooseVersion(probing, worker, { key: "usr_1" }).versionId).toBe("stable");
    expect(chooseVersion(probing, worker, { overrides: `${worker}="gone"` }).by).toBe("chance");
    expect(chooseVersion(probing, "edgebank-orders", { overrides: header }).versionId).toBe("stable");
    expect([...parseOverrides('a="1", b=2, c="3"').entries()]).toEqual([
      ["a", "1"],
      ["c", "3"],
    ]);
  });
});
