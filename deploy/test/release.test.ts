import { describe, expect, it } from "vitest";
import { exitCodeOf, follow, type RolloutView } from "../release.ts";

const view = (status: string, canaryPercentage: number, details: string[]): RolloutView => ({
  id: "rol_1",
  worker: "edgebank-transfers-staging",
  canaryVersionId: "v2",
  status,
  canaryPercentage,
  reason: null,
  history: details.map((detail, i) => ({ at: `2026-12-06T10:00:0${i}.000Z`, kind: "step", by: "controller", detail })),
});

describe("npm run release", () => {
  it("prints each history entry once, polling until the rollout ends, and exits by its outcome", async () => {
    const views = [
      view("PROBING", 0, ["started"]),
      view("STEPPING", 5, ["started", "probes passed", "5 %"]),
      view("STEPPING", 5, ["started", "probes passed", "5 %"]),
      view("ROLLED_BACK", 0, ["started", "probes passed", "5 %", "Failed: 5xx ratio 20.00 %"]),
    ];
    const lines: string[] = [];
    let sleeps = 0;
    const last = await follow(
      async () => views.shift() ?? view("ROLLED_BACK", 0, []),
      (line) => lines.push(line),
      async () => {
        sleeps += 1;
      },
    );
    expect(last.status).toBe("ROLLED_BACK");
    expect(sleeps).toBe(3);
    expect(lines).toEqual([
      "10:00:00    0 %  step     started",
      "10:00:01    5 %  step     probes passed",
      "10:00:02    5 %  step     5 %",
      "10:00:03    0 %  step     Failed: 5xx ratio 20.00 %",
    ]);
    expect([exitCodeOf("PROMOTED"), exitCodeOf("ROLLED_BACK"), exitCodeOf("ABORTED"), exitCodeOf("PAUSED")]).toEqual([
      0, 1, 1, 2,
    ]);
  });

  it("stops following a paused rollout (it waits for an operator)", async () => {
    const last = await follow(
      async () => view("PAUSED", 25, ["paused"]),
      () => {},
      async () => {
        throw new Error("a paused rollout is not polled");
      },
    );
    expect(last.status).toBe("PAUSED");
  });
});
