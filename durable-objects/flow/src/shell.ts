import { DurableObject } from "cloudflare:workers";
import { AppError } from "@edgebank/errors";
import { countEvent, traceWork } from "@edgebank/http";
import { withSpan } from "@edgebank/telemetry";
import { FlowConflict, type FlowDefinition, FlowMachine, type FlowState, type Transition } from "./machine.ts";

/**
 * The Durable Object shell of a money flow (a transfer's saga, a payment, a refund), one object
 * per flow, addressed by its subject's id: the object's storage holds the flow's state, its
 * caller's `begin` runs the steps in that call (the alarm only resumes a run cut short, and runs
 * retries, signals and operators' actions), and a subclass says what the steps do. One
 * storage write per step holds its outcome and the next step's intent, and every side effect
 * carries an operation id derived from the flow and the step, so a crash anywhere resumes where
 * it stopped and never applies anything twice.
 */

/** What every flow's subject has: its id (the object's name) and the trace that started it. */
export interface FlowSubject {
  id: string;
  traceparent?: string;
}

/** Test environments only: `<step>:before|after`: the object crashes there once; `<step>:throw`: the step throws once (an unexpected error). */
export type CrashPoint<S extends string> = `${S}:${"before" | "after" | "throw"}`;

/** Test environments only: faults a `begin` arms before the flow starts. */
export interface BeginFaults<S extends string> {
  crashAt?: CrashPoint<S>;
  refuseAt?: S;
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
  /** The deployment's environment: test faults may be armed in every one but production. */
  environment: string;
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

  get #faultsAllowed(): boolean {
    return this.shell.environment !== "production";
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
      {
        transient: settings.transient,
        // Test environments only: production runs no fault hook at all (and reads no storage for one).
        ...(this.#faultsAllowed
          ? {
              faults: {
                before: (step: S) => this.#crashIf(`${step}:before`),
                after: (step: S) => this.#crashIf(`${step}:after`),
                refusal: (step: S) => this.#refusalIf(step),
              },
            }
          : {}),
        aroundStep: (step, run) => withSpan(`${settings.noun} ${step}`, {}, run),
        // State changes: each step run and where it left the flow (RUNNING, a retry later, an end).
        onStep: (step, status) =>
          countEvent(this.env as object, settings.service, settings.stepMetric, { step, status }),
      },
    );
    return this.#machine;
  }

  /**
   * Starts the flow (once: a repeat starts nothing new; `faults`, test environments only, arm a
   * crash or a refusal) and runs it in this call, answering its state once it ended (or waits
   * for a signal), or after `waitMs` while it still runs (a retry scheduled, a slow step). One
   * invocation instead of a start, an alarm and a wait; the alarm, set `BACKSTOP_MS` ahead,
   * only resumes a run that a crash or an eviction cut short. A second call (a repeat of the
   * request) waits for the run in progress.
   */
  async begin(subject: D, faults: BeginFaults<S> = {}, waitMs = 0): Promise<FlowState<S, D> | undefined> {
    const existing = await this.flow.outcome();
    if (existing && existing.status !== "RUNNING") return existing;
    if (!existing) {
      if (faults.crashAt) await this.injectCrash(faults.crashAt);
      if (faults.refuseAt) await this.injectRefusal(faults.refuseAt);
      await this.flow.start(subject, BACKSTOP_MS);
    }
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

  /** Test environments only: crash at `point` the next time the flow gets there. */
  async injectCrash(point: CrashPoint<S>): Promise<void> {
    if (!this.#faultsAllowed) throw new AppError("forbidden", "Fault injection is disabled in production.");
    await this.ctx.storage.put("crashAt", point);
    this.#armed = undefined;
  }

  /**
   * Test environments only: the next time the flow performs `step`, it acts as if the callee
   * refused it for good (a step that can no longer compensate then needs an operator).
   */
  async injectRefusal(step: S): Promise<void> {
    if (!this.#faultsAllowed) throw new AppError("forbidden", "Fault injection is disabled in production.");
    await this.ctx.storage.put("refuseAt", step);
    this.#armed = undefined;
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

  /** Faults armed in this object, read from storage once per instance (test environments only). */
  #armed: Promise<{ crashAt?: CrashPoint<S> | undefined; refuseAt?: S | undefined }> | undefined;

  #armedFaults() {
    this.#armed ??= this.ctx.storage.get<string>(["crashAt", "refuseAt"]).then((stored) => ({
      crashAt: stored.get("crashAt") as CrashPoint<S> | undefined,
      refuseAt: stored.get("refuseAt") as S | undefined,
    }));
    return this.#armed;
  }

  async #refusalIf(step: S): Promise<Transition<S> | undefined> {
    const armed = await this.#armedFaults();
    if (armed.refuseAt !== step) return undefined;
    armed.refuseAt = undefined;
    await this.ctx.storage.delete("refuseAt");
    return { step: this.flow.escalation, status: "RUNNING", reason: `${step}_refused: injected` };
  }

  async #crashIf(point: CrashPoint<S>): Promise<void> {
    const faults = await this.#armedFaults();
    const armed = faults.crashAt;
    if (armed === undefined) return;
    const [step, when] = point.split(":");
    if (when === "before" && armed === `${step}:throw`) {
      // An unexpected error in the run: reported, and the flow goes on at its next alarm.
      faults.crashAt = undefined;
      await this.ctx.storage.delete("crashAt");
      await this.ctx.storage.setAlarm(Date.now() + 50);
      throw new Error(`Injected failure before ${step} (test environments only).`);
    }
    if (armed !== point) return;
    faults.crashAt = undefined;
    await this.ctx.storage.delete("crashAt");
    // As if the machine died here: the next alarm (set now) finds the state as stored. The
    // writes are made durable first, or the crash would take them (and this one-shot) with it.
    await this.ctx.storage.setAlarm(Date.now() + 50);
    await this.ctx.storage.sync();
    this.ctx.abort(`injected crash at ${point}`);
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

/**
 * The faults a request asks a new flow for, from its headers (`X-Test-Crash-At:
 * <step>:<before|after|throw>`, `X-Test-Refuse-At: <step>`), in test environments only: in
 * production the headers mean nothing and no flow is asked for a fault. `route:throw` makes the
 * route itself throw (an unexpected error, for error reporting). An unknown step is a 400.
 */
export function requestedFaults<S extends string>(
  environment: string,
  steps: readonly S[],
  header: (name: string) => string | undefined,
): BeginFaults<S> {
  if (environment === "production") return {};
  const known = new Set<string>(steps);
  const point = header("x-test-crash-at");
  if (point === "route:throw") throw new Error("Injected failure in the route (test environments only).");
  const [step, when] = point?.split(":") ?? [];
  if (point && !(step && known.has(step) && ["before", "after", "throw"].includes(when ?? ""))) {
    throw new AppError("bad_request", `Unknown crash point ${point}.`);
  }
  const refuse = header("x-test-refuse-at");
  if (refuse && !known.has(refuse)) throw new AppError("bad_request", `Unknown step ${refuse}.`);
  return {
    ...(point ? { crashAt: point as CrashPoint<S> } : {}),
    ...(refuse ? { refuseAt: refuse as S } : {}),
  };
}
