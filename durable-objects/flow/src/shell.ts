import { DurableObject } from "cloudflare:workers";
import { AppError } from "@edgebank/errors";
import { countEvent, traceWork } from "@edgebank/http";
import { withSpan } from "@edgebank/telemetry";
import { FlowConflict, type FlowDefinition, FlowMachine, type FlowOptions, type FlowState } from "./machine.ts";

/**
 * The Durable Object shell of a money flow (a transfer's saga, a payment, a refund), one object
 * per flow, addressed by its subject's id: the object's storage holds the flow's state, its
 * caller's `begin` runs the steps in that call (the alarm only resumes a run cut short, and runs
 * retries, signals and operators' actions), and a subclass says what the steps do. One
 * storage write per step holds its outcome and the next step's intent, and every side effect
 * carries an operation id derived from the flow and the step, so a crash anywhere resumes where
 * it stopped and never applies anything twice. Nothing here injects faults: the test builds
 * subclass it with `withTestFaults` (see ../testing/faults.ts).
 */

/** What every flow's subject has: its id (the object's name) and the trace that started it. */
export interface FlowSubject {
  id: string;
  traceparent?: string;
}

/** How a subclass's flow is named, stored, counted and retried. */
export interface FlowShellSettings {
  /** The hosting service (metrics, spans, error reports). */
  service: string;
  /** The object's class name, for its run span. */
  object: string;
  /** What operators call the flow in refusals ("saga", "payment"). */
  noun: string;
  /** The storage key of the flow's state. */
  stateKey: string;
  /** The span attribute naming the subject's id. */
  idAttribute: string;
  /** The business metric counted per step run. */
  stepMetric: string;
  /** What a thrown error means: a description when it is transient (retry later), else undefined. */
  transient(error: unknown): string | undefined;
}

/** How long after its start a flow's alarm checks that the run its caller began went on. */
const BACKSTOP_MS = 2_000;

export abstract class FlowObject<S extends string, D extends FlowSubject, E = unknown> extends DurableObject<E> {
  /** The flow's steps, over the subclass's ports (built once per instance). */
  protected abstract definition(): FlowDefinition<S, D>;
  protected abstract settings(): FlowShellSettings;

  #machine: FlowMachine<S, D> | undefined;
  #settings: FlowShellSettings | undefined;

  protected get shell(): FlowShellSettings {
    this.#settings ??= this.settings();
    return this.#settings;
  }

  protected get flow(): FlowMachine<S, D> {
    const settings = this.shell;
    this.#machine ??= new FlowMachine(
      this.definition(),
      {
        load: () => this.ctx.storage.get<FlowState<S, D>>(settings.stateKey),
        save: (state) => this.ctx.storage.put(settings.stateKey, state),
        wakeAt: (atMs) => this.ctx.storage.setAlarm(atMs),
        cancelWake: () => this.ctx.storage.deleteAlarm(),
      },
      this.machineOptions(),
    );
    return this.#machine;
  }

  /** What the machine is told besides its steps and storage: what is transient, spans, metrics. */
  protected machineOptions(): FlowOptions<S> {
    const settings = this.shell;
    return {
      transient: settings.transient,
      aroundStep: (step, run) => withSpan(`${settings.noun} ${step}`, {}, run),
      // State changes: each step run and where it left the flow (RUNNING, a retry later, an end).
      onStep: (step, status) => countEvent(this.env as object, settings.service, settings.stepMetric, { step, status }),
    };
  }

  /**
   * Starts the flow (once: a repeat starts nothing new) and runs it in this call, answering its state once it ended (or waits
   * for a signal), or after `waitMs` while it still runs (a retry scheduled, a slow step). One
   * invocation instead of a start, an alarm and a wait; the alarm, set `BACKSTOP_MS` ahead,
   * only resumes a run that a crash or an eviction cut short. A second call (a repeat of the
   * request) waits for the run in progress.
   */
  async begin(subject: D, waitMs = 0): Promise<FlowState<S, D> | undefined> {
    const existing = await this.flow.outcome();
    if (existing && existing.status !== "RUNNING") return existing;
    if (!existing) await this.flow.start(subject, BACKSTOP_MS);
    return this.#runWithin(waitMs);
  }

  /**
   * The sweeper's check of a flow its row says is still running: a flow that never started (its
   * caller died between the row's commit and `begin`) starts from its alarm; a running one whose
   * alarm was lost is woken. Anything else is left as it is (a retry waits for its backoff).
   */
  async ensure(subject: D): Promise<FlowState<S, D> | undefined> {
    const state = await this.flow.outcome();
    if (!state) return this.flow.start(subject, 0);
    if (state.status === "RUNNING" && !this.flow.running && (await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now());
    }
    return state;
  }

  /** The flow's state now; waits up to `waitMs` for it to end first. */
  outcome(waitMs = 0): Promise<FlowState<S, D> | undefined> {
    return this.flow.outcome(waitMs);
  }

  /** Operator: run a flow in NEEDS_ATTENTION again from the step it stopped at. */
  retry(): Promise<FlowState<S, D> | undefined> {
    return this.#conflictsAsAppErrors(() => this.flow.retry());
  }

  /**
   * Operator: where compensating this flow in NEEDS_ATTENTION would start, or why it cannot be
   * (said in words: a class does not cross the RPC boundary).
   */
  compensation(): Promise<{ step: S } | { refused: string } | undefined> {
    return this.flow.compensation();
  }

  /** Operator: undo what a flow in NEEDS_ATTENTION did and end it FAILED; a refused undo goes back to NEEDS_ATTENTION. */
  compensate(): Promise<FlowState<S, D> | undefined> {
    return this.#conflictsAsAppErrors(() => this.flow.compensate());
  }

  /**
   * A waiting flow goes on at `to` (see FlowMachine.proceed) and runs in this call, for at most
   * `waitMs`; a flow not waiting at `at` is answered as it is (another signal came first).
   */
  protected async proceed(at: S, to: S, reason?: string, waitMs = 0): Promise<FlowState<S, D> | undefined> {
    const state = await this.flow.proceed(at, to, reason);
    if (state?.status !== "RUNNING" || state.step !== to) return state;
    return this.#runWithin(waitMs);
  }

  override async alarm(): Promise<void> {
    if (this.flow.running) {
      // A caller's run is still going: look again later rather than lose the backstop.
      await this.ctx.storage.setAlarm(Date.now() + BACKSTOP_MS);
      return;
    }
    await this.#run();
  }

  /** Runs the flow in this call for at most `waitMs` in all; a run still going then goes on in this object. */
  async #runWithin(waitMs: number): Promise<FlowState<S, D> | undefined> {
    const deadline = Date.now() + waitMs;
    let stopWaiting = () => {};
    const ended = await Promise.race([
      this.#run(),
      new Promise<"waited">((resolve) => {
        const timer = setTimeout(() => resolve("waited"), waitMs);
        stopWaiting = () => clearTimeout(timer);
      }),
    ]).finally(() => stopWaiting());
    if (ended === "waited") return this.flow.outcome();
    if (ended && ended.status !== "RUNNING") return ended;
    // Another call's run in progress, or a retry scheduled: wait what is left for the end.
    return this.flow.outcome(Math.max(0, deadline - Date.now()));
  }

  /** Runs the flow's steps (when it is running), continuing the trace of the request that started it. */
  async #run(): Promise<FlowState<S, D> | undefined> {
    const state = await this.flow.outcome();
    if (state?.status !== "RUNNING") return state;
    const settings = this.shell;
    return traceWork(
      settings.service,
      this.env,
      {
        name: `${settings.object} run`,
        kind: "server",
        parent: state.subject.traceparent,
        attributes: { [settings.idAttribute]: state.subject.id, "edgebank.flow.step": state.step },
        waitUntil: (promise) => this.ctx.waitUntil(promise),
      },
      async (span) => {
        const ended = await this.flow.run();
        span?.setAttributes({ "edgebank.flow.status": ended?.status ?? "running" });
        return ended;
      },
    );
  }

  /** An operator action the flow refuses is a 409, said in words. */
  async #conflictsAsAppErrors<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof FlowConflict) throw new AppError("conflict", error.message.replace("flow", this.shell.noun));
      throw error;
    }
  }
}

/**
 * How long a caller (a route, a consumer) waits for a flow's outcome before it answers that the
 * flow goes on (202, or a retry later): the flow keeps running in its object after that.
 */
export const FLOW_ANSWER_WITHIN_MS = 5_000;
