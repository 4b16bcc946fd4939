import { afterTransientFailure, type RetryDecision } from "./retry-policy.ts";

/**
 * The durable step machine every money flow runs on (a transfer, a deposit, a withdrawal, a
 * payment, a refund), free of I/O: its shell (a Durable Object) gives it a storage, an alarm and
 * the steps' side effects. A flow is a list of named steps. One storage write per step: it holds
 * the step's outcome and the next step's intent (the first intent is written by `start`), so the
 * state always says which step runs next and that it may already have begun. Each side effect
 * carries an operation id derived from the flow's id and the step (so a step replayed after a
 * crash is answered, never applied twice), and the alarm drives the steps, so a crash anywhere
 * resumes where it stopped. Transient failures are
 * retried with full-jitter backoff; a step that keeps failing compensates while that is still
 * possible, else stops in NEEDS_ATTENTION for an operator, who can retry it or compensate.
 */

/**
 * RUNNING: a step runs next. WAITING: the flow rests at a step until someone outside tells it
 * how to go on (`proceed`: an order's payment, authorized, until its stock is reserved or the
 * order ends); nothing wakes it meanwhile. COMPLETED, FAILED: it ended. NEEDS_ATTENTION: it
 * stopped for an operator.
 */
export type FlowStatus = "RUNNING" | "WAITING" | "COMPLETED" | "FAILED" | "NEEDS_ATTENTION";

/** A JSON scalar. */
export type Json = string | number | boolean | null;
/**
 * A flow's result: a JSON object two levels deep (a response's status and its flat body), not
 * a recursive type, which the RPC stubs' types cannot map.
 */
export type FlowResult = { [key: string]: Json | { [key: string]: Json } };

export interface FlowHistoryEntry<S extends string> {
  step: S;
  event: "started" | "done" | "retry";
  detail?: string;
  at: string;
}

export interface FlowState<S extends string, D> {
  /** What the flow moves (a transfer, a payment): fixed when it starts. */
  subject: D;
  step: S;
  status: FlowStatus;
  /** Why it failed or needs attention (a stable reason). */
  reason?: string;
  /** Failed attempts of the current step. */
  attempts: number;
  /** When the current step first failed (ISO time), while it is being retried. */
  failingSince?: string;
  /** The step that could not finish, where an operator's retry resumes. */
  resumeAt?: S;
  /**
   * How many times an undo was refused for good. An operation id answers the same forever, so
   * each new round of compensation uses ids of its own; a round only begins after the previous
   * one's answer was a definite refusal.
   */
  round?: number;
  /** Each step's intent and outcome, in order: what an operator reads. */
  history: Array<FlowHistoryEntry<S>>;
  /** What the step that ended (or stopped) the flow answered: its caller's answer, as its shell made it. */
  result?: FlowResult;
}

/** How a callee answered a step: applied, refused for a stable reason, not found, or a conflict. */
export type StepOutcome =
  | { kind: "applied" }
  | { kind: "refused"; reason: string }
  | { kind: "not_found" }
  | { kind: "conflict"; detail: string };

/** Where a step leads: the next step (the flow goes on) or the end it reached. */
export interface Transition<S extends string> {
  step: S;
  status: FlowStatus;
  reason?: string;
  round?: number;
  /** The answer of a step that ends the flow (kept in its state, see FlowState.result). */
  result?: FlowResult;
}

/** One kind of flow: its steps and what its step runs do. */
export interface FlowDefinition<S extends string, D> {
  /** The step a new flow starts at. */
  first: S;
  /** The step that records NEEDS_ATTENTION (it ends the flow there; an operator takes over). */
  escalation: S;
  /** The step giving up compensates with, while `compensable(step)` (nothing done yet that a person must undo). */
  compensation: S;
  compensable(step: S): boolean;
  /** Runs the side effect of `state.step` once; throws what failed (transient, see `transient`). */
  perform(state: FlowState<S, D>): Promise<Transition<S>>;
  /** Where an operator's compensation starts, or why there is none (a sentence). */
  compensationStart(state: FlowState<S, D>): S | { refused: string };
  /** The reason a flow an operator compensated ends with. */
  compensatedReason: string;
}

/** Where the flow's state lives and how it is woken: the shell's storage and alarm. */
export interface FlowStorage<S extends string, D> {
  load(): Promise<FlowState<S, D> | undefined>;
  save(state: FlowState<S, D>): Promise<void>;
  /** Runs the flow again at `atMs` (a Durable Object alarm). */
  wakeAt(atMs: number): Promise<void>;
  /** The flow ended: no wake-up is needed any more (deletes the alarm). */
  cancelWake?(): Promise<void>;
}

/**
 * Faults around a step, for tests only: supplied by a Node test, or by the test build's shell
 * (durable-objects/flow/testing), never by a production one. `before` and `after` may crash the
 * object; `refusal` makes a step answer as if its callee refused it for good.
 */
export interface FlowFaults<S extends string> {
  before?(step: S): Promise<void>;
  after?(step: S): Promise<void>;
  refusal?(step: S): Promise<Transition<S> | undefined>;
}

export interface FlowOptions<S extends string> {
  /** What a thrown error means: a description when it is transient (retry later), else undefined. */
  transient(error: unknown): string | undefined;
  faults?: FlowFaults<S>;
  /** Wraps each step run (a trace span per step). */
  aroundStep?<T>(step: S, run: () => Promise<T>): Promise<T>;
  /** Called with each finished step run: the step and where it left the flow (RETRY_LATER: a retry is scheduled). */
  onStep?(step: S, status: FlowStatus | "RETRY_LATER"): void;
  now?: () => number;
  /** The retry policy (default: see retry-policy.ts). */
  afterTransientFailure?: (input: Parameters<typeof afterTransientFailure>[0]) => RetryDecision;
}

/** Refused operator actions: said in words (a class does not survive a Durable Object's RPC boundary). */
export class FlowConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlowConflict";
  }
}

export class FlowMachine<S extends string, D> {
  readonly #definition: FlowDefinition<S, D>;
  readonly #storage: FlowStorage<S, D>;
  readonly #options: FlowOptions<S>;
  readonly #now: () => number;
  #running = false;
  #waiters: Array<() => void> = [];

  constructor(definition: FlowDefinition<S, D>, storage: FlowStorage<S, D>, options: FlowOptions<S>) {
    this.#definition = definition;
    this.#storage = storage;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The step that records NEEDS_ATTENTION (where an injected refusal leads). */
  get escalation(): S {
    return this.#definition.escalation;
  }

  /** Whether a run is in progress in this instance. */
  get running(): boolean {
    return this.#running;
  }

  /** Whether nothing runs or waits in this instance (a host may drop it; the state is in storage). */
  get idle(): boolean {
    return !this.#running && this.#waiters.length === 0;
  }

  /**
   * Starts the flow (once: a second start changes nothing) and has it woken in `wakeInMs`: at
   * once (0) when the alarm runs it, later when the caller runs it itself and the wake-up is only
   * the backstop for a crash mid-run.
   */
  async start(subject: D, wakeInMs = 0): Promise<FlowState<S, D>> {
    const existing = await this.#storage.load();
    if (existing) return existing;
    const state: FlowState<S, D> = {
      subject,
      step: this.#definition.first,
      status: "RUNNING",
      attempts: 0,
      history: [this.#entry(this.#definition.first, "started")],
    };
    await this.#storage.save(state);
    await this.#storage.wakeAt(this.#now() + wakeInMs);
    return state;
  }

  /** The state now; waits up to `waitMs` for a running flow to end (or to wait for a retry) first. */
  async outcome(waitMs = 0): Promise<FlowState<S, D> | undefined> {
    const state = await this.#storage.load();
    if (state?.status !== "RUNNING" || waitMs <= 0) return state;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.#storage.load();
  }

  /**
   * Runs the steps until the flow ends or a retry is scheduled (the alarm's work). One run at a
   * time: a wake-up during a run does nothing. A throw that is not transient leaves the state as
   * stored, for the next wake-up (the shell's alarm retries it).
   */
  async run(): Promise<FlowState<S, D> | undefined> {
    if (this.#running) return undefined;
    this.#running = true;
    try {
      let state = await this.#storage.load();
      while (state?.status === "RUNNING") {
        const step = state.step;
        const current = state;
        const around = this.#options.aroundStep;
        const next = around ? await around(step, () => this.#advance(current)) : await this.#advance(current);
        this.#options.onStep?.(step, next === "later" ? "RETRY_LATER" : next.status);
        if (next === "later") return this.#storage.load();
        state = next;
        if (state.status !== "RUNNING") await this.#storage.cancelWake?.();
      }
      return state;
    } finally {
      this.#running = false;
      for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  /**
   * A waiting flow goes on: if it still rests at `at`, it runs `to` next (with `reason`, if given)
   * and is woken at once; otherwise nothing changes (another signal came first, or the flow is
   * not there). Answers the state after the call: whoever reads `step` sees which signal won.
   */
  async proceed(at: S, to: S, reason?: string): Promise<FlowState<S, D> | undefined> {
    const state = await this.#storage.load();
    if (state?.status !== "WAITING" || state.step !== at) return state;
    return this.#resume({
      ...settled(state),
      status: "RUNNING",
      step: to,
      ...(reason !== undefined ? { reason } : {}),
      history: [...state.history, this.#entry(at, "done", reason ?? to), this.#entry(to, "started")],
    });
  }

  /** Operator: run a flow in NEEDS_ATTENTION again from the step it stopped at. */
  async retry(): Promise<FlowState<S, D> | undefined> {
    const state = await this.#storage.load();
    if (!state) return undefined;
    if (state.status !== "NEEDS_ATTENTION") throw new FlowConflict(`The flow is ${state.status}.`);
    const { reason: _reason, resumeAt, ...rest } = settled(state);
    const step = resumeAt ?? this.#definition.first;
    return this.#resume({
      ...rest,
      status: "RUNNING",
      step,
      history: [...state.history, this.#entry(step, "started", "operator retry")],
    });
  }

  /** Operator: where compensating would start, or why it cannot be compensated. */
  async compensation(): Promise<{ step: S } | { refused: string } | undefined> {
    const state = await this.#storage.load();
    if (!state) return undefined;
    const start = this.#compensationStart(state);
    return typeof start === "object" ? start : { step: start };
  }

  /**
   * Operator: undo what a flow in NEEDS_ATTENTION did and end it FAILED with the definition's
   * `compensatedReason`. Each undo is an operation with its own deterministic id, so a crash or
   * a second request never undoes anything twice.
   */
  async compensate(): Promise<FlowState<S, D> | undefined> {
    const state = await this.#storage.load();
    if (!state) return undefined;
    const start = this.#compensationStart(state);
    if (typeof start === "object") throw new FlowConflict(start.refused);
    const { resumeAt: _resumeAt, ...rest } = settled(state);
    return this.#resume({
      ...rest,
      status: "RUNNING",
      step: start,
      reason: this.#definition.compensatedReason,
      history: [...state.history, this.#entry(start, "started", "operator compensation")],
    });
  }

  /** An operator's action or a signal: the flow runs again, from the alarm, at once. */
  async #resume(resumed: FlowState<S, D>): Promise<FlowState<S, D>> {
    await this.#storage.save(resumed);
    await this.#storage.wakeAt(this.#now());
    return resumed;
  }

  #compensationStart(state: FlowState<S, D>): S | { refused: string } {
    if (state.status !== "NEEDS_ATTENTION") return { refused: `The flow is ${state.status}.` };
    return this.#definition.compensationStart(state);
  }

  /**
   * Runs the current step once (its intent is stored already): the next state, stored in one
   * write with the next step's intent, or "later" when a retry was scheduled.
   */
  async #advance(state: FlowState<S, D>): Promise<FlowState<S, D> | "later"> {
    const { step } = state;
    const faults = this.#options.faults;
    await faults?.before?.(step);
    let next: Transition<S>;
    try {
      next = (await faults?.refusal?.(step)) ?? (await this.#definition.perform(state));
    } catch (error) {
      const transient = this.#options.transient(error);
      if (transient === undefined) throw error;
      return this.#retryLater(state, transient);
    }
    const escalating = next.step === this.#definition.escalation && step !== this.#definition.escalation;
    const done: FlowState<S, D> = {
      ...settled(state),
      ...next,
      ...(escalating ? { resumeAt: step } : {}),
      history: [
        ...state.history,
        this.#entry(step, "done", next.reason ?? next.step),
        ...(next.status === "RUNNING" ? [this.#entry(next.step, "started")] : []),
      ],
    };
    await this.#storage.save(done);
    await faults?.after?.(step);
    return done;
  }

  /**
   * Schedules the step again after a backoff, or gives up: a compensable step compensates, any
   * later one escalates (resumable by an operator at that step).
   */
  async #retryLater(state: FlowState<S, D>, detail: string): Promise<FlowState<S, D> | "later"> {
    const attempts = state.attempts + 1;
    const nowMs = this.#now();
    const failingSince = state.failingSince ?? new Date(nowMs).toISOString();
    const compensable = this.#definition.compensable(state.step);
    const decide = this.#options.afterTransientFailure ?? afterTransientFailure;
    const decision = decide({ compensable, attempts, failingSinceMs: Date.parse(failingSince), nowMs });
    if (decision === "give_up") {
      const next = compensable ? this.#definition.compensation : this.#definition.escalation;
      const given: FlowState<S, D> = {
        ...settled(state),
        step: next,
        ...(compensable ? {} : { resumeAt: state.step }),
        reason: `${state.step}_unavailable`,
        history: [
          ...state.history,
          this.#entry(state.step, "retry", `gave up: ${detail}`),
          this.#entry(next, "started"),
        ],
      };
      await this.#storage.save(given);
      return given;
    }
    await this.#storage.save({
      ...state,
      attempts,
      failingSince,
      history: [...state.history, this.#entry(state.step, "retry", detail)],
    });
    await this.#storage.wakeAt(nowMs + decision.retryInMs);
    return "later";
  }

  #entry(step: S, event: FlowHistoryEntry<S>["event"], detail?: string): FlowHistoryEntry<S> {
    return { step, event, ...(detail !== undefined ? { detail } : {}), at: new Date(this.#now()).toISOString() };
  }
}

/** The state with its current step's retries (and an earlier end's answer) forgotten: the step finished, or starts afresh. */
function settled<S extends string, D>(state: FlowState<S, D>): FlowState<S, D> {
  const { failingSince: _failingSince, result: _result, ...rest } = state;
  return { ...rest, attempts: 0 };
}
