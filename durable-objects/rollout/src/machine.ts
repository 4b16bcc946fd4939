import type { Analysis, Figures, Verdict } from "./analysis.ts";
import type { RolloutPlan, Thresholds } from "./plan.ts";

/**
 * One rollout of a new version of one Worker, as a pure state machine: the RolloutDO stores the
 * state, runs what `next` asks for (probes, an analysis, a wait) and feeds the outcome back;
 * after every change it makes the Worker's deployment match `deploymentOf(state)`, so a crash
 * between the two is mended by the next alarm. Operator commands are idempotent by their id.
 */

export type RolloutStatus = "PROBING" | "STEPPING" | "PAUSED" | "PROMOTED" | "ROLLED_BACK" | "ABORTED";
export type Running = "PROBING" | "STEPPING";

export const terminal = (status: RolloutStatus) =>
  status === "PROMOTED" || status === "ROLLED_BACK" || status === "ABORTED";

export interface ProbeResult {
  check: string;
  ok: boolean;
  detail: string;
}

export interface HistoryEntry {
  at: number;
  kind: "start" | "probes" | "analysis" | "step" | "command" | "end";
  /** Who gave a command (the operator's subject), or "controller". */
  by: string;
  detail: string;
  verdict?: Verdict;
  figures?: Figures;
  probes?: ProbeResult[];
}

export interface RolloutState {
  id: string;
  worker: string;
  /** The operator who started it (told when it ends or pauses). */
  startedBy: string;
  stableVersionId: string;
  canaryVersionId: string;
  plan: RolloutPlan;
  thresholds: Thresholds;
  status: RolloutStatus;
  /** The plan's step in force; -1 while the probes run at 0 %. */
  step: number;
  /** The new version's share of traffic the rollout wants now. */
  canaryPercentage: number;
  /** When the current step (or the wait after a pause) began: the analysis window starts here. */
  stepStartedAt: number;
  /** When the next probe run or analysis is due. */
  dueAt: number;
  /** Inconclusive analyses in a row in this step. */
  inconclusive: number;
  /** Where a paused rollout goes back to. */
  pausedFrom?: Running;
  /** Why it ended, or why it paused. */
  reason?: string;
  history: HistoryEntry[];
  /** Operator commands already applied, by their id: a repeat answers what the first did. */
  commands: Record<string, CommandOutcome>;
}

export interface RolloutEvent {
  type: "RolloutPromoted" | "RolloutRolledBack" | "RolloutAborted" | "RolloutPaused";
  rolloutId: string;
  worker: string;
  startedBy: string;
  stableVersionId: string;
  canaryVersionId: string;
  reason: string;
}

export interface Transition {
  state: RolloutState;
  events: RolloutEvent[];
}

/** What the object should do next. */
export type Next =
  | { kind: "wait"; until: number }
  | { kind: "probe"; checks: RolloutPlan["probes"] }
  | { kind: "analyze"; since: number; until: number; minRequests: number }
  | { kind: "done" };

/** The deployment that carries a rollout's traffic as it stands (what the Workers deployments API is given). */
export function deploymentOf(state: RolloutState): { version_id: string; percentage: number }[] {
  if (state.canaryPercentage >= 100) return [{ version_id: state.canaryVersionId, percentage: 100 }];
  if (terminal(state.status)) return [{ version_id: state.stableVersionId, percentage: 100 }];
  // While it runs (paused too), the new version stays in the deployment, at 0 % while probed:
  // requests that name it in a version override still reach it.
  return [
    { version_id: state.stableVersionId, percentage: 100 - state.canaryPercentage },
    { version_id: state.canaryVersionId, percentage: state.canaryPercentage },
  ];
}

export interface StartInput {
  id: string;
  worker: string;
  stableVersionId: string;
  canaryVersionId: string;
  plan: RolloutPlan;
  thresholds: Thresholds;
  by: string;
  now: number;
}

export function start(input: StartInput): RolloutState {
  const { now, by, ...identity } = input;
  return {
    ...identity,
    startedBy: by,
    status: "PROBING",
    step: -1,
    canaryPercentage: 0,
    stepStartedAt: now,
    dueAt: now,
    inconclusive: 0,
    history: [
      {
        at: now,
        kind: "start",
        by,
        detail: `rollout of ${input.worker} ${input.canaryVersionId} over ${input.stableVersionId} started`,
      },
    ],
    commands: {},
  };
}

export function next(state: RolloutState, now: number): Next {
  if (terminal(state.status) || state.status === "PAUSED") return { kind: "done" };
  if (now < state.dueAt) return { kind: "wait", until: state.dueAt };
  if (state.status === "PROBING") return { kind: "probe", checks: state.plan.probes };
  const step = state.plan.steps[state.step];
  return { kind: "analyze", since: state.stepStartedAt, until: now, minRequests: step?.minRequests ?? 0 };
}

const event = (state: RolloutState, type: RolloutEvent["type"], reason: string): RolloutEvent => ({
  type,
  rolloutId: state.id,
  worker: state.worker,
  startedBy: state.startedBy,
  stableVersionId: state.stableVersionId,
  canaryVersionId: state.canaryVersionId,
  reason,
});

function enterStep(state: RolloutState, index: number, now: number, entry: HistoryEntry): RolloutState {
  const step = state.plan.steps[index];
  if (!step) throw new Error(`the plan has no step ${index}`);
  return {
    ...state,
    status: "STEPPING",
    step: index,
    canaryPercentage: step.percentage,
    stepStartedAt: now,
    dueAt: now + step.holdSeconds * 1000,
    inconclusive: 0,
    history: [
      ...state.history,
      entry,
      { at: now, kind: "step", by: "controller", detail: `the new version takes ${step.percentage} % of traffic` },
    ],
  };
}

function end(
  state: RolloutState,
  status: "PROMOTED" | "ROLLED_BACK" | "ABORTED",
  reason: string,
  now: number,
  entries: HistoryEntry[],
): Transition {
  const ended: RolloutState = {
    ...state,
    status,
    canaryPercentage: status === "PROMOTED" ? 100 : 0,
    reason,
    history: [...state.history, ...entries, { at: now, kind: "end", by: "controller", detail: `${status}: ${reason}` }],
  };
  const type =
    status === "PROMOTED" ? "RolloutPromoted" : status === "ABORTED" ? "RolloutAborted" : "RolloutRolledBack";
  return { state: ended, events: [event(ended, type, reason)] };
}

/** The probes at 0 % came back: every check passed (the first step begins) or the rollout rolls back. */
export function probed(state: RolloutState, results: ProbeResult[], now: number): Transition {
  if (state.status !== "PROBING") return { state, events: [] };
  const failed = results.filter((result) => !result.ok);
  const entry: HistoryEntry = {
    at: now,
    kind: "probes",
    by: "controller",
    detail:
      failed.length === 0
        ? `${results.length} probe(s) passed`
        : `probe(s) failed: ${failed.map((f) => `${f.check} (${f.detail})`).join("; ")}`,
    probes: results,
  };
  if (failed.length > 0 || results.length === 0) {
    return end(state, "ROLLED_BACK", entry.detail, now, [entry]);
  }
  return { state: enterStep(state, 0, now, entry), events: [] };
}

/** A step's analysis came back: the next step (or promotion), a rollback, or a longer wait. */
export function analyzed(state: RolloutState, analysis: Analysis, now: number): Transition {
  if (state.status !== "STEPPING") return { state, events: [] };
  const step = state.plan.steps[state.step];
  const entry: HistoryEntry = {
    at: now,
    kind: "analysis",
    by: "controller",
    detail: `${step?.percentage ?? "?"} %: ${analysis.verdict}: ${analysis.reasons.join("; ")}`,
    verdict: analysis.verdict,
    figures: analysis.figures,
  };
  switch (analysis.verdict) {
    case "Failed":
      return end(state, "ROLLED_BACK", analysis.reasons.join("; "), now, [entry]);
    case "Successful":
      if (state.step + 1 >= state.plan.steps.length) {
        return end(state, "PROMOTED", "every step passed its analysis", now, [entry]);
      }
      return { state: enterStep(state, state.step + 1, now, entry), events: [] };
    case "Inconclusive": {
      const inconclusive = state.inconclusive + 1;
      if (inconclusive >= state.plan.maxInconclusive) {
        const reason = `${inconclusive} inconclusive analyses in a row: too little traffic to judge the new version`;
        const paused: RolloutState = {
          ...state,
          status: "PAUSED",
          pausedFrom: "STEPPING",
          inconclusive,
          reason,
          history: [...state.history, entry, { at: now, kind: "end", by: "controller", detail: `PAUSED: ${reason}` }],
        };
        return { state: paused, events: [event(paused, "RolloutPaused", reason)] };
      }
      const wait = (step?.holdSeconds ?? 60) * 1000;
      return {
        state: { ...state, inconclusive, dueAt: now + wait, history: [...state.history, entry] },
        events: [],
      };
    }
  }
}

export type Command = "pause" | "resume" | "promote" | "abort";

export type CommandOutcome =
  | { ok: true; status: RolloutStatus; detail: string }
  | { ok: false; status: RolloutStatus; detail: string };

/**
 * An operator's command. Idempotent twice over: the same command id answers what it did the
 * first time, and a command that finds the rollout already where it leads changes nothing.
 * A command an ended rollout cannot take is refused with its status.
 */
export function command(
  state: RolloutState,
  input: { id: string; command: Command; by: string; now: number },
): Transition & { outcome: CommandOutcome } {
  const seen = state.commands[input.id];
  if (seen) return { state, events: [], outcome: seen };
  const { now, by } = input;
  const entry = (detail: string): HistoryEntry => ({
    at: now,
    kind: "command",
    by,
    detail: `${input.command}: ${detail}`,
  });
  const remember = (transition: Transition, outcome: CommandOutcome) => ({
    state: { ...transition.state, commands: { ...transition.state.commands, [input.id]: outcome } },
    events: transition.events,
    outcome,
  });
  // Already where the command leads (ok), or ended where it cannot go (refused): nothing moves.
  const unchanged = (detail: string, ok = true) =>
    remember(
      { state: ok ? { ...state, history: [...state.history, entry(detail)] } : state, events: [] },
      { ok, status: state.status, detail },
    );
  const ended = `the rollout has ended ${state.status}`;

  switch (input.command) {
    case "pause": {
      if (state.status === "PAUSED") return unchanged("already paused");
      if (terminal(state.status)) return unchanged(ended, false);
      const detail = `paused at ${state.canaryPercentage} %`;
      const paused: RolloutState = {
        ...state,
        status: "PAUSED",
        pausedFrom: state.status as Running,
        reason: `paused by ${by}`,
        history: [...state.history, entry(detail)],
      };
      return remember({ state: paused, events: [] }, { ok: true, status: "PAUSED", detail });
    }
    case "resume": {
      if (state.status === "PROBING" || state.status === "STEPPING") return unchanged("not paused");
      if (terminal(state.status)) return unchanged(ended, false);
      const back = state.pausedFrom ?? "STEPPING";
      const hold = back === "PROBING" ? 0 : (state.plan.steps[state.step]?.holdSeconds ?? 0) * 1000;
      const detail = `resumed at ${state.canaryPercentage} %`;
      // The step starts over: its analysis judges the traffic since the resume.
      const { pausedFrom: _, reason: __, ...rest } = state;
      const resumed: RolloutState = {
        ...rest,
        status: back,
        stepStartedAt: now,
        dueAt: now + hold,
        inconclusive: 0,
        history: [...state.history, entry(detail)],
      };
      return remember({ state: resumed, events: [] }, { ok: true, status: back, detail });
    }
    case "promote": {
      if (state.status === "PROMOTED") return unchanged("already promoted");
      if (terminal(state.status)) return unchanged(ended, false);
      const detail = "the new version takes 100 % of traffic";
      return remember(end(state, "PROMOTED", `promoted by ${by}`, now, [entry(detail)]), {
        ok: true,
        status: "PROMOTED",
        detail,
      });
    }
    case "abort": {
      if (state.status === "ABORTED") return unchanged("already aborted");
      if (terminal(state.status)) return unchanged(ended, false);
      const detail = "the stable version takes 100 % of traffic";
      return remember(end(state, "ABORTED", `aborted by ${by}`, now, [entry(detail)]), {
        ok: true,
        status: "ABORTED",
        detail,
      });
    }
  }
}
