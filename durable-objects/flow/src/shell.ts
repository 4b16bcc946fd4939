import { DurableObject } from "cloudflare:workers";
import { AppError } from "@edgebank/errors";
import { countEvent, traceWork } from "@edgebank/http";
import { withSpan } from "@edgebank/telemetry";
import { FlowConflict, type FlowDefinition, FlowMachine, type FlowOptions, type FlowState } from "./machine.ts";
import { flowShard } from "./shard.ts";

export { FLOW_SHARDS, flowShard } from "./shard.ts";

/**
 * The Durable Object shell of money flows (transfers' sagas, payments, refunds): a flow host.
 * Flows are sharded by their subject's id over `FLOW_SHARDS` objects of a class (see
 * `flowStub`), and each object holds many flows' states, under `<stateKey>:<id>`, with one
 * alarm for the earliest wake-up among them (`wake:<id>` keeps each flow's). So the objects a
 * transfer meets are warm, keep their isolate's state and their SQLite file, and no object is
 * created or evicted per transfer. A caller's `begin` runs the flow's steps in that call (the
 * alarm only resumes a run cut short, and runs retries, signals and operators' actions); a
 * subclass says what the steps do. One storage write per step holds its outcome and the next
 * step's intent, and every side effect carries an operation id derived from the flow and the
 * step, so a crash anywhere resumes where it stopped and never applies anything twice. Nothing
 * here injects faults: the test builds subclass it with `withTestFaults` (../testing/faults.ts).
 */

/** What every flow's subject has: its id (which names its shard) and the trace that started it. */
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
  /** The storage key prefix of the flows' states (`<stateKey>:<id>`). */
  stateKey: string;
  /** The span attribute naming the subject's id. */
  idAttribute: string;
  /** The business metric counted per step run. */
  stepMetric: string;
  /** What a thrown error means: a description when it is transient (retry later), else undefined. */
  transient(error: unknown): string | undefined;
}

/** The stub of the object that hosts flow `id`. */
export function flowStub<N extends { get(id: DurableObjectId): unknown; idFromName(name: string): DurableObjectId }>(
  namespace: N,
  id: string,
): ReturnType<N["get"]> {
  return namespace.get(namespace.idFromName(flowShard(id))) as ReturnType<N["get"]>;
}

/** What a flow host's stub answers (the methods a handle binds an id to). */
interface FlowStubMethods {
  begin(subject: never, waitMs?: number): unknown;
  ensure(subject: never): unknown;
  outcome(id: string, waitMs?: number): unknown;
  retry(id: string): unknown;
  compensation(id: string): unknown;
  compensate(id: string): unknown;
}

/**
 * One flow of a host, its id bound: what callers hold (`sagaOf(env, id)`, `paymentFlowOf`), so
 * they never name the shard or pass the id twice.
 */
export function flowHandle<T extends FlowStubMethods>(stub: T, id: string) {
  return {
    begin: (subject: Parameters<T["begin"]>[0], waitMs?: number) =>
      stub.begin(subject, waitMs) as ReturnType<T["begin"]>,
    ensure: (subject: Parameters<T["ensure"]>[0]) => stub.ensure(subject) as ReturnType<T["ensure"]>,
    outcome: (waitMs?: number) => stub.outcome(id, waitMs) as ReturnType<T["outcome"]>,
    retry: () => stub.retry(id) as ReturnType<T["retry"]>,
    compensation: () => stub.compensation(id) as ReturnType<T["compensation"]>,
    compensate: () => stub.compensate(id) as ReturnType<T["compensate"]>,
  };
}

/** How long after its start a flow's wake-up checks that the run its caller began went on. */
const BACKSTOP_MS = 2_000;
/** How long after a run threw (an unexpected error, reported) the flow is tried again. */
const AFTER_THROW_MS = 2_000;
/** The storage key prefix of each flow's wake-up time. */
const WAKE = "wake:";

export abstract class FlowObject<S extends string, D extends FlowSubject, E = unknown> extends DurableObject<E> {
  /** The flows' steps, over the subclass's ports (built once per instance, shared by its flows). */
  protected abstract definition(): FlowDefinition<S, D>;
  protected abstract settings(): FlowShellSettings;

  #definition: FlowDefinition<S, D> | undefined;
  #settings: FlowShellSettings | undefined;
  /** The machines of the flows this instance is working on (an idle one is dropped). */
  readonly #machines = new Map<string, FlowMachine<S, D>>();
  /** Every flow's wake-up time, as stored, and the alarm as set (null: none). */
  #wakes = new Map<string, number>();
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: E) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const [wakes, alarm] = await Promise.all([ctx.storage.list<number>({ prefix: WAKE }), ctx.storage.getAlarm()]);
      this.#wakes = new Map([...wakes].map(([key, at]) => [key.slice(WAKE.length), at]));
      this.#alarmAt = alarm;
      // A flow due while no alarm is set (an earlier instance stopped between the two writes).
      if (this.#wakes.size > 0 && alarm === null) await this.#armAlarm();
    });
  }

  protected get shell(): FlowShellSettings {
    this.#settings ??= this.settings();
    return this.#settings;
  }

  /** Flow `id`'s machine: its state under `<stateKey>:<id>`, its wake-up in the host's index. */
  protected machine(id: string): FlowMachine<S, D> {
    let machine = this.#machines.get(id);
    if (!machine) {
      const key = `${this.shell.stateKey}:${id}`;
      this.#definition ??= this.definition();
      machine = new FlowMachine(
        this.#definition,
        {
          load: () => this.ctx.storage.get<FlowState<S, D>>(key),
          save: (state) => this.ctx.storage.put(key, state),
          wakeAt: (atMs) => this.wake(id, atMs),
          cancelWake: () => this.#cancelWake(id),
        },
        this.machineOptions(id),
      );
      this.#machines.set(id, machine);
    }
    return machine;
  }

  /** What flow `id`'s machine is told besides its steps and storage: what is transient, spans, metrics. */
  protected machineOptions(_id: string): FlowOptions<S> {
    const settings = this.shell;
    return {
      transient: settings.transient,
      aroundStep: (step, run) => withSpan(`${settings.noun} ${step}`, {}, run),
      // State changes: each step run and where it left the flow (RUNNING, a retry later, an end).
      onStep: (step, status) => countEvent(this.env as object, settings.service, settings.stepMetric, { step, status }),
    };
  }

  /** Has flow `id` run again at `atMs` (the host's alarm is moved earlier when it must be). */
  protected async wake(id: string, atMs: number): Promise<void> {
    this.#wakes.set(id, atMs);
    const stored = this.ctx.storage.put(`${WAKE}${id}`, atMs);
    if (this.#alarmAt === null || atMs < this.#alarmAt) {
      this.#alarmAt = atMs;
      await Promise.all([stored, this.ctx.storage.setAlarm(atMs)]);
    } else {
      await stored;
    }
  }

  async #cancelWake(id: string): Promise<void> {
    if (!this.#wakes.delete(id)) return;
    // The alarm stays: when it rings with nothing due it is set for the next wake-up.
    await this.ctx.storage.delete(`${WAKE}${id}`);
  }

  async #armAlarm(): Promise<void> {
    let earliest: number | null = null;
    for (const at of this.#wakes.values()) if (earliest === null || at < earliest) earliest = at;
    if (earliest === null || earliest === this.#alarmAt) return;
    this.#alarmAt = earliest;
    await this.ctx.storage.setAlarm(earliest);
  }

  /** Drops flow `id`'s machine once nothing runs or waits on it (its state stays in storage). */
  #release(id: string): void {
    if (this.#machines.get(id)?.idle) this.#machines.delete(id);
  }

  /**
   * Starts a flow (once: a repeat starts nothing new) and runs it in this call, answering its
   * state once it ended (or waits for a signal), or after `waitMs` while it still runs (a retry
   * scheduled, a slow step). One invocation instead of a start, an alarm and a wait; the
   * wake-up, set `BACKSTOP_MS` ahead, only resumes a run that a crash cut short. A second call
   * (a repeat of the request) waits for the run in progress.
   */
  async begin(subject: D, waitMs = 0): Promise<FlowState<S, D> | undefined> {
    const flow = this.machine(subject.id);
    try {
      const existing = await flow.outcome();
      if (existing && existing.status !== "RUNNING") return existing;
      if (!existing) await flow.start(subject, BACKSTOP_MS);
      return await this.#runWithin(subject.id, waitMs);
    } finally {
      this.#release(subject.id);
    }
  }

  /**
   * The sweeper's check of a flow its row says is still running: a flow that never started (its
   * caller died between the row's commit and `begin`) starts from the alarm; a running one whose
   * wake-up was lost is woken. Anything else is left as it is (a retry waits for its backoff).
   */
  async ensure(subject: D): Promise<FlowState<S, D> | undefined> {
    const flow = this.machine(subject.id);
    try {
      const state = await flow.outcome();
      if (!state) return await flow.start(subject, 0);
      if (state.status === "RUNNING" && !flow.running && !this.#wakes.has(subject.id)) {
        await this.wake(subject.id, Date.now());
      }
      return state;
    } finally {
      this.#release(subject.id);
    }
  }

  /** Flow `id`'s state now; waits up to `waitMs` for it to end first. */
  async outcome(id: string, waitMs = 0): Promise<FlowState<S, D> | undefined> {
    try {
      return await this.machine(id).outcome(waitMs);
    } finally {
      this.#release(id);
    }
  }

  /** Operator: run flow `id`, in NEEDS_ATTENTION, again from the step it stopped at. */
  retry(id: string): Promise<FlowState<S, D> | undefined> {
    return this.#conflictsAsAppErrors(id, (flow) => flow.retry());
  }

  /**
   * Operator: where compensating flow `id` in NEEDS_ATTENTION would start, or why it cannot be
   * (said in words: a class does not cross the RPC boundary).
   */
  async compensation(id: string): Promise<{ step: S } | { refused: string } | undefined> {
    try {
      return await this.machine(id).compensation();
    } finally {
      this.#release(id);
    }
  }

  /** Operator: undo what flow `id` in NEEDS_ATTENTION did and end it FAILED; a refused undo goes back to NEEDS_ATTENTION. */
  compensate(id: string): Promise<FlowState<S, D> | undefined> {
    return this.#conflictsAsAppErrors(id, (flow) => flow.compensate());
  }

  /**
   * Flow `id`, waiting, goes on at `to` (see FlowMachine.proceed) and runs in this call, for at
   * most `waitMs`; a flow not waiting at `at` is answered as it is (another signal came first).
   */
  protected async proceed(id: string, at: S, to: S, reason?: string, waitMs = 0): Promise<FlowState<S, D> | undefined> {
    try {
      const state = await this.machine(id).proceed(at, to, reason);
      if (state?.status !== "RUNNING" || state.step !== to) return state;
      return await this.#runWithin(id, waitMs);
    } finally {
      this.#release(id);
    }
  }

  /**
   * Runs every flow whose wake-up is due, side by side (one that throws is reported and tried
   * again `AFTER_THROW_MS` later; the others go on), then sets the alarm for the next wake-up.
   */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const now = Date.now();
    const due = [...this.#wakes].filter(([, at]) => at <= now).map(([id]) => id);
    await Promise.all(
      due.map(async (id) => {
        const flow = this.machine(id);
        try {
          // A caller's run is still going: look again later rather than lose the backstop.
          if (flow.running) return await this.wake(id, Date.now() + BACKSTOP_MS);
          const ended = await this.#run(id);
          // A flow that is not running (it ended, waits, needs an operator) needs no wake-up.
          if (ended?.status !== "RUNNING") await this.#cancelWake(id);
        } catch {
          await this.wake(id, Date.now() + AFTER_THROW_MS);
        } finally {
          this.#release(id);
        }
      }),
    );
    await this.#armAlarm();
  }

  /** Runs flow `id` in this call for at most `waitMs` in all; a run still going then goes on in this object. */
  async #runWithin(id: string, waitMs: number): Promise<FlowState<S, D> | undefined> {
    const deadline = Date.now() + waitMs;
    let stopWaiting = () => {};
    const ended = await Promise.race([
      this.#run(id).finally(() => this.#release(id)),
      new Promise<"waited">((resolve) => {
        const timer = setTimeout(() => resolve("waited"), waitMs);
        stopWaiting = () => clearTimeout(timer);
      }),
    ]).finally(() => stopWaiting());
    const flow = this.machine(id);
    if (ended === "waited") return flow.outcome();
    if (ended && ended.status !== "RUNNING") return ended;
    // Another call's run in progress, or a retry scheduled: wait what is left for the end.
    return flow.outcome(Math.max(0, deadline - Date.now()));
  }

  /** Runs flow `id`'s steps (when it is running), continuing the trace of the request that started it. */
  async #run(id: string): Promise<FlowState<S, D> | undefined> {
    const flow = this.machine(id);
    const state = await flow.outcome();
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
        const ended = await flow.run();
        span?.setAttributes({ "edgebank.flow.status": ended?.status ?? "running" });
        return ended;
      },
    );
  }

  /** An operator action the flow refuses is a 409, said in words. */
  async #conflictsAsAppErrors<T>(id: string, action: (flow: FlowMachine<S, D>) => Promise<T>): Promise<T> {
    try {
      return await action(this.machine(id));
    } catch (error) {
      if (error instanceof FlowConflict) throw new AppError("conflict", error.message.replace("flow", this.shell.noun));
      throw error;
    } finally {
      this.#release(id);
    }
  }
}

/**
 * How long a caller (a route, a consumer) waits for a flow's outcome before it answers that the
 * flow goes on (202, or a retry later): the flow keeps running in its object after that.
 */
export const FLOW_ANSWER_WITHIN_MS = 5_000;
