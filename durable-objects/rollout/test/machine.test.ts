import { describe, expect, it } from "vitest";
import type { Analysis, Figures } from "../src/analysis.ts";
import {
  analyzed,
  command,
  deploymentOf,
  next,
  type ProbeResult,
  probed,
  type RolloutState,
  start,
} from "../src/machine.ts";
import type { RolloutPlan, Thresholds } from "../src/plan.ts";

const plan: RolloutPlan = {
  probes: ["sign_in", "transfer"],
  steps: [
    { percentage: 5, holdSeconds: 60, minRequests: 100 },
    { percentage: 50, holdSeconds: 120, minRequests: 100 },
    { percentage: 100, holdSeconds: 60, minRequests: 100 },
  ],
  maxInconclusive: 2,
};
const thresholds: Thresholds = {
  errors: { maxRatio: 0.01, maxIncrease: 0.002 },
  latency: { minRouteRequests: 50, p50MaxRatio: 1.25, p95MaxRatio: 1.25, p99MaxRatio: 1.5, minIncreaseMs: 25 },
  business: { minSettled: 50, maxSuccessDrop: 0.02 },
};
const t0 = Date.UTC(2026, 11, 6, 10, 0, 0);
const minute = 60_000;

const begin = () =>
  start({
    id: "rol_1",
    worker: "edgebank-transfers-staging",
    stableVersionId: "stable",
    canaryVersionId: "canary",
    plan,
    thresholds,
    by: "usr_operator",
    now: t0,
  });
const passed: ProbeResult[] = [
  { check: "sign_in", ok: true, detail: "200" },
  { check: "transfer", ok: true, detail: "201" },
];
const noFigures = {} as Figures;
const verdict = (v: Analysis["verdict"], reasons = [`${v.toLowerCase()}`]): Analysis => ({
  verdict: v,
  reasons,
  figures: noFigures,
});

describe("a rollout", () => {
  it("probes at 0 %, then climbs step by step on successful analyses to promotion", () => {
    let state = begin();
    expect(deploymentOf(state)).toEqual([
      { version_id: "stable", percentage: 100 },
      { version_id: "canary", percentage: 0 },
    ]);
    expect(next(state, t0)).toEqual({ kind: "probe", checks: ["sign_in", "transfer"] });

    state = probed(state, passed, t0 + 1_000).state;
    expect(state).toMatchObject({ status: "STEPPING", step: 0, canaryPercentage: 5 });
    expect(deploymentOf(state)).toEqual([
      { version_id: "stable", percentage: 95 },
      { version_id: "canary", percentage: 5 },
    ]);
    // Held for the step's interval before it is judged, over the traffic since it began.
    expect(next(state, t0 + 30_000)).toEqual({ kind: "wait", until: t0 + 1_000 + minute });
    expect(next(state, t0 + 61_000)).toEqual({
      kind: "analyze",
      since: t0 + 1_000,
      until: t0 + 61_000,
      minRequests: 100,
    });

    state = analyzed(state, verdict("Successful"), t0 + 61_000).state;
    expect(state).toMatchObject({ status: "STEPPING", step: 1, canaryPercentage: 50, dueAt: t0 + 61_000 + 2 * minute });
    state = analyzed(state, verdict("Successful"), t0 + 4 * minute).state;
    expect(state).toMatchObject({ step: 2, canaryPercentage: 100 });
    const promoted = analyzed(state, verdict("Successful"), t0 + 5 * minute);
    expect(promoted.state).toMatchObject({ status: "PROMOTED", canaryPercentage: 100 });
    expect(deploymentOf(promoted.state)).toEqual([{ version_id: "canary", percentage: 100 }]);
    expect(promoted.events).toEqual([expect.objectContaining({ type: "RolloutPromoted", rolloutId: "rol_1" })]);
    expect(next(promoted.state, t0 + 10 * minute)).toEqual({ kind: "done" });
    expect(promoted.state.history.map((entry) => entry.kind)).toEqual([
      "start",
      "probes",
      "step",
      "analysis",
      "step",
      "analysis",
      "step",
      "analysis",
      "end",
    ]);
  });

  it("rolls back on its own when an analysis fails, the stable version taking all traffic", () => {
    let state = probed(begin(), passed, t0).state;
    state = analyzed(state, verdict("Successful"), t0 + minute).state;
    const failed = analyzed(
      state,
      verdict("Failed", ["5xx ratio 20.00 % is above the 1.00 % allowed"]),
      t0 + 3 * minute,
    );
    expect(failed.state).toMatchObject({
      status: "ROLLED_BACK",
      canaryPercentage: 0,
      reason: "5xx ratio 20.00 % is above the 1.00 % allowed",
    });
    expect(deploymentOf(failed.state)).toEqual([{ version_id: "stable", percentage: 100 }]);
    expect(failed.events).toEqual([
      {
        type: "RolloutRolledBack",
        rolloutId: "rol_1",
        worker: "edgebank-transfers-staging",
        startedBy: "usr_operator",
        stableVersionId: "stable",
        canaryVersionId: "canary",
        reason: "5xx ratio 20.00 % is above the 1.00 % allowed",
      },
    ]);
    expect(failed.state.history.at(-2)).toMatchObject({ kind: "analysis", verdict: "Failed" });
  });

  it("rolls back before any user sees a version whose probes fail", () => {
    const failed = probed(begin(), [passed[0] as ProbeResult, { check: "transfer", ok: false, detail: "500" }], t0);
    expect(failed.state).toMatchObject({ status: "ROLLED_BACK", reason: "probe(s) failed: transfer (500)" });
    expect(failed.events.map((e) => e.type)).toEqual(["RolloutRolledBack"]);
  });

  it("waits on inconclusive analyses, then pauses for an operator instead of promoting on silence", () => {
    let state = probed(begin(), passed, t0).state;
    const first = analyzed(state, verdict("Inconclusive"), t0 + minute);
    state = first.state;
    expect(state).toMatchObject({ status: "STEPPING", step: 0, inconclusive: 1, dueAt: t0 + 2 * minute });
    // The window stays the step's: the next analysis sees the traffic of both waits.
    expect(next(state, t0 + 2 * minute)).toMatchObject({ kind: "analyze", since: t0 });
    const second = analyzed(state, verdict("Inconclusive"), t0 + 2 * minute);
    expect(second.state).toMatchObject({ status: "PAUSED", pausedFrom: "STEPPING", canaryPercentage: 5 });
    expect(second.events.map((e) => e.type)).toEqual(["RolloutPaused"]);
    expect(next(second.state, t0 + 60 * minute)).toEqual({ kind: "done" });
    // While paused the new version keeps its share: nothing is decided without the operator.
    expect(deploymentOf(second.state)).toEqual([
      { version_id: "stable", percentage: 95 },
      { version_id: "canary", percentage: 5 },
    ]);
  });
});

describe("operator commands", () => {
  const stepping = () => probed(begin(), passed, t0).state;
  const give = (state: RolloutState, name: "pause" | "resume" | "promote" | "abort", id: string, at = t0) =>
    command(state, { id, command: name, by: "usr_ops", now: at });

  it("pause and resume: the step starts over, its window from the resume", () => {
    const paused = give(stepping(), "pause", "c1", t0 + 10_000);
    expect(paused.outcome).toEqual({ ok: true, status: "PAUSED", detail: "paused at 5 %" });
    expect(next(paused.state, t0 + 10 * minute)).toEqual({ kind: "done" });
    const resumed = give(paused.state, "resume", "c2", t0 + 20 * minute);
    expect(resumed.state).toMatchObject({
      status: "STEPPING",
      stepStartedAt: t0 + 20 * minute,
      dueAt: t0 + 21 * minute,
    });
    expect(resumed.state.history.filter((entry) => entry.kind === "command")).toEqual([
      expect.objectContaining({ by: "usr_ops", detail: "pause: paused at 5 %" }),
      expect.objectContaining({ by: "usr_ops", detail: "resume: resumed at 5 %" }),
    ]);
  });

  it("are idempotent: a repeated id answers the same, a command already in effect changes nothing", () => {
    const paused = give(stepping(), "pause", "c1");
    const again = give(paused.state, "pause", "c1", t0 + minute);
    expect(again.state).toBe(paused.state);
    expect(again.outcome).toEqual(paused.outcome);
    const twice = give(paused.state, "pause", "c9");
    expect(twice.outcome).toEqual({ ok: true, status: "PAUSED", detail: "already paused" });
    expect(twice.state.status).toBe("PAUSED");
    const aborted = give(stepping(), "abort", "c3");
    expect(give(aborted.state, "abort", "c4").outcome).toEqual({
      ok: true,
      status: "ABORTED",
      detail: "already aborted",
    });
    expect(give(aborted.state, "abort", "c4").events).toEqual([]);
  });

  it("promote and abort end the rollout with the traffic where they say, recorded with who", () => {
    const promoted = give(stepping(), "promote", "p1");
    expect(promoted.state).toMatchObject({ status: "PROMOTED", reason: "promoted by usr_ops" });
    expect(deploymentOf(promoted.state)).toEqual([{ version_id: "canary", percentage: 100 }]);
    const aborted = give(stepping(), "abort", "a1");
    expect(aborted.state).toMatchObject({ status: "ABORTED", reason: "aborted by usr_ops" });
    expect(aborted.events.map((e) => e.type)).toEqual(["RolloutAborted"]);
    expect(deploymentOf(aborted.state)).toEqual([{ version_id: "stable", percentage: 100 }]);
  });

  it("refuses what an ended rollout cannot do, changing nothing", () => {
    const rolledBack = analyzed(stepping(), verdict("Failed"), t0 + minute).state;
    for (const name of ["pause", "resume", "promote"] as const) {
      const refused = give(rolledBack, name, `r-${name}`);
      expect(refused.outcome).toEqual({
        ok: false,
        status: "ROLLED_BACK",
        detail: "the rollout has ended ROLLED_BACK",
      });
      expect(refused.state.status).toBe("ROLLED_BACK");
      expect(refused.state.history).toEqual(rolledBack.history);
      expect(refused.events).toEqual([]);
    }
  });

  it("ignores late results for a state that moved on (a probe or analysis after a pause)", () => {
    const paused = give(stepping(), "pause", "c1").state;
    expect(analyzed(paused, verdict("Failed"), t0 + minute).state).toBe(paused);
    expect(probed(paused, passed, t0).state).toBe(paused);
  });
});
