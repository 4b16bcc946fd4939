import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Figures, judge, type VersionFigures } from "../src/analysis.ts";
import { rolloutPlanSchema, thresholdsSchema } from "../src/plan.ts";

const repository = new URL("../../../", import.meta.url);
const thresholds = thresholdsSchema.parse(
  JSON.parse(readFileSync(new URL("deploy/rollout-thresholds.json", repository), "utf8")),
);

const version = (overrides: Partial<VersionFigures> = {}): VersionFigures => ({
  requests: 1_000,
  serverErrors: 1,
  routes: {
    "POST /v1/transfers": { requests: 400, p50: 60, p95: 120, p99: 250 },
    "GET /v1/accounts/:id/balance": { requests: 600, p50: 10, p95: 20, p99: 40 },
  },
  settled: 400,
  completed: 380,
  ...overrides,
});
const healthy = { reconciliationMismatches: 0, ledgerChainValid: true, needsAttention: 0 };
const figures = (canary: Partial<VersionFigures> = {}, invariants = healthy): Figures => ({
  stable: version({ requests: 9_000, serverErrors: 9 }),
  canary: version(canary),
  invariants,
});

describe("a step's analysis", () => {
  it("passes a new version that does as well as the stable one, saying what it compared", () => {
    const analysis = judge(figures(), thresholds, 200);
    expect(analysis.verdict).toBe("Successful");
    expect(analysis.reasons).toEqual([
      "5xx ratio 0.10 % (stable 0.10 %)",
      "latency of 2 route(s) served enough by both versions",
      "95.00 % of money flows completed (stable 95.00 %)",
    ]);
  });

  it("is inconclusive on too little traffic: silence never promotes", () => {
    const analysis = judge(figures({ requests: 150, serverErrors: 0 }), thresholds, 200);
    expect(analysis).toMatchObject({
      verdict: "Inconclusive",
      reasons: ["the new version served 150 of the 200 requests an analysis needs"],
    });
  });

  it("fails on a broken money invariant, however little traffic there was", () => {
    const quiet = { requests: 3 };
    expect(judge(figures(quiet, { ...healthy, reconciliationMismatches: 2 }), thresholds, 200).reasons).toEqual([
      "reconciliation found 2 account(s) differing from the ledger",
    ]);
    expect(judge(figures(quiet, { ...healthy, ledgerChainValid: false }), thresholds, 200).verdict).toBe("Failed");
    expect(judge(figures(quiet, { ...healthy, needsAttention: 1 }), thresholds, 200).reasons).toEqual([
      "1 money flow(s) reached NEEDS_ATTENTION during the step",
    ]);
  });

  it("fails on a 5xx ratio above the ceiling, or too far above the stable version's", () => {
    // A fifth of transfers failing: 80 of 400 transfer requests.
    expect(judge(figures({ serverErrors: 80 }), thresholds, 200)).toMatchObject({
      verdict: "Failed",
      reasons: ["5xx ratio 8.00 % is above the 1.00 % allowed"],
    });
    expect(judge(figures({ serverErrors: 5 }), thresholds, 200).reasons).toEqual([
      "5xx ratio 0.50 % against 0.10 % for the stable version (at most 0.20 % more allowed)",
    ]);
  });

  it("fails on a route's latency only where both versions served enough of it, and beyond noise", () => {
    const slow = version().routes;
    const routes = { ...slow, "POST /v1/transfers": { requests: 400, p50: 60, p95: 420, p99: 560 } };
    expect(judge(figures({ routes }), thresholds, 200).reasons).toEqual([
      "POST /v1/transfers: p95 420 ms against 120 ms for the stable version (at most ×1.25, or 25 ms more)",
      "POST /v1/transfers: p99 560 ms against 250 ms for the stable version (at most ×1.5, or 25 ms more)",
    ]);
    // Twice as slow, but 20 ms slower: noise on a fast route.
    const fast = { ...slow, "GET /v1/accounts/:id/balance": { requests: 600, p50: 20, p95: 40, p99: 60 } };
    expect(judge(figures({ routes: fast }), thresholds, 200).verdict).toBe("Successful");
    // A route the new version served 10 times is not compared.
    const rare = { ...slow, "POST /v1/transfers": { requests: 10, p50: 4_000, p95: 5_000, p99: 9_000 } };
    expect(judge(figures({ routes: rare }), thresholds, 200).verdict).toBe("Successful");
    // 300 ms slower on every request, against a stable version with a long tail: the tails
    // hardly differ, the median does.
    const tail = { requests: 400, p50: 60, p95: 1_500, p99: 2_500 };
    const shifted = { requests: 400, p50: 360, p95: 1_800, p99: 2_800 };
    const withTail: Figures = {
      stable: version({ routes: { ...slow, "POST /v1/transfers": tail } }),
      canary: version({ routes: { ...slow, "POST /v1/transfers": shifted } }),
      invariants: healthy,
    };
    expect(judge(withTail, thresholds, 200).reasons).toEqual([
      "POST /v1/transfers: p50 360 ms against 60 ms for the stable version (at most ×1.25, or 25 ms more)",
    ]);
  });

  it("fails when fewer transfers and payments complete than on the stable version", () => {
    expect(judge(figures({ completed: 300 }), thresholds, 200).reasons).toEqual([
      "75.00 % of transfers and payments completed against 95.00 % for the stable version (at most 2.00 % fewer allowed)",
    ]);
    // Too few settled to compare: not judged on it.
    expect(judge(figures({ settled: 10, completed: 0 }), thresholds, 200).verdict).toBe("Successful");
  });
});

describe("the plan and thresholds files", () => {
  it("are valid, and a plan must climb to 100 %", () => {
    const plan = rolloutPlanSchema.parse(
      JSON.parse(readFileSync(new URL("deploy/rollout-plan.json", repository), "utf8")),
    );
    expect(plan.steps.map((step) => step.percentage)).toEqual([5, 10, 25, 50, 100]);
    const steps = (percentages: number[]) =>
      rolloutPlanSchema.safeParse({
        ...plan,
        steps: percentages.map((percentage) => ({ percentage, holdSeconds: 1, minRequests: 0 })),
      });
    expect(steps([5, 50]).error?.issues.map((issue) => issue.message)).toEqual(["the last step must reach 100 %"]);
    expect(steps([10, 5, 100]).error?.issues.map((issue) => issue.message)).toEqual([
      "each step must give the new version more traffic than the one before",
    ]);
  });
});
