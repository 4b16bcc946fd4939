import { DurableObject } from "cloudflare:workers";
import { FlowConflict, FlowMachine } from "@edgebank/durable-objects/flow";
import {
  type TransferState,
  type TransferStep,
  type TransferSubject,
  transferFlow,
  transferSteps,
} from "@edgebank/durable-objects/transfer";
import { AppError } from "@edgebank/errors";
import { countEvent, traceWork } from "@edgebank/http";
import { pokeOutboxRelay } from "@edgebank/outbox/durable-object";
import { operateAccount, recordInLedger, TransientFailure } from "@edgebank/service/clients";
import { currentTraceparent, withSpan } from "@edgebank/telemetry";
import { settleTransfer } from "../domain/settlement.ts";
import { config } from "../service.ts";

export { COMPENSATED_BY_OPERATOR } from "@edgebank/durable-objects/transfer";

/** What a saga moves (see durable-objects/transfer). */
export type SagaTransfer = TransferSubject;
export type SagaStep = TransferStep;
export type SagaState = TransferState;
export const sagaSteps: readonly SagaStep[] = transferSteps;

/** Test environments only: `<step>:before|after`: the object crashes there once; `<step>:throw`: the step throws once (an unexpected error). */
export type CrashPoint = `${SagaStep}:${"before" | "after" | "throw"}`;

/** How long after its start a saga's alarm checks that the run its caller began went on. */
const BACKSTOP_MS = 2_000;

/**
 * The shell of one transfer's flow (durable-objects/transfer on durable-objects/flow), addressed
 * by the transfer's id: the object's storage holds the flow's state, the route's `begin` call
 * runs the steps (the alarm resumes a run cut short, and runs retries and operators' actions),
 * and the steps call the accounts and the ledger over RPC and settle the transfer's row. One
 * storage write per step holds its outcome and the next step's intent, and each side effect
 * carries a deterministic operation id (`<transfer>:<step>`), so a crash anywhere resumes where
 * it stopped and never applies anything twice.
 */
export class TransferSagaDO extends DurableObject<Env> {
  readonly #flow = new FlowMachine(
    transferFlow({
      operate: (accountId, operation, traceparent) => operateAccount(this.env, accountId, operation, traceparent),
      record: (entry, traceparent) => recordInLedger(this.env, { ...entry, ...(traceparent ? { traceparent } : {}) }),
      settle: async (transferId, outcome, traceparent) => {
        await settleTransfer(this.env, transferId, outcome, traceparent);
        // Its outcome event leaves through the service's relay object, after the answer; a lost
        // poke leaves it for the cron sweeper.
        this.ctx.waitUntil(
          pokeOutboxRelay(this.env.OUTBOX_RELAY, "transfers", currentTraceparent() ?? traceparent).catch(
            () => undefined,
          ),
        );
      },
    }),
    {
      load: () => this.ctx.storage.get<SagaState>("saga"),
      save: (state) => this.ctx.storage.put("saga", state),
      wakeAt: (atMs) => this.ctx.storage.setAlarm(atMs),
      cancelWake: () => this.ctx.storage.deleteAlarm(),
    },
    {
      transient: (error) => (error instanceof TransientFailure ? error.what : undefined),
      // Test environments only: production runs no fault hook at all (and reads no storage for one).
      ...(faultsAllowed(this.env)
        ? {
            faults: {
              before: (step: SagaStep) => this.#crashIf(`${step}:before`),
              after: (step: SagaStep) => this.#crashIf(`${step}:after`),
              refusal: (step: SagaStep) => this.#refusalIf(step),
            },
          }
        : {}),
      aroundStep: (step, run) => withSpan(`saga ${step}`, {}, run),
      // Saga state changes: each step run and where it left the saga (RUNNING, a retry later, an end).
      onStep: (step, status) => countEvent(this.env, "transfers", "saga_step", { step, status }),
    },
  );

  /**
   * Starts the saga (once: a repeat with the same transfer starts nothing new; `crashAt` and
   * `refuseAt`, test environments only, arm a crash or a refusal at that step) and runs it in
   * this call, answering its state once it ended, or
   * after `waitMs` while it still runs (a retry scheduled, a slow step). One invocation instead
   * of a start, an alarm and a wait; the alarm, set `BACKSTOP_MS` ahead, only resumes a run
   * that a crash or an eviction cut short. A second call (a repeat of the request) waits for the
   * run in progress.
   */
  async begin(
    transfer: SagaTransfer,
    options: { crashAt?: CrashPoint; refuseAt?: SagaStep } = {},
    waitMs = 0,
  ): Promise<SagaState | undefined> {
    const existing = await this.#flow.outcome();
    if (existing && existing.status !== "RUNNING") return existing;
    if (!existing) {
      if (options.crashAt) await this.injectCrash(options.crashAt);
      if (options.refuseAt) await this.injectRefusal(options.refuseAt);
      await this.#flow.start(transfer, BACKSTOP_MS);
    }
    // The whole call waits at most `waitMs`; a run still going then goes on in this object.
    const deadline = Date.now() + waitMs;
    let stopWaiting = () => {};
    const ended = await Promise.race([
      this.#run(),
      new Promise<"waited">((resolve) => {
        const timer = setTimeout(() => resolve("waited"), waitMs);
        stopWaiting = () => clearTimeout(timer);
      }),
    ]).finally(() => stopWaiting());
    if (ended === "waited") return this.#flow.outcome();
    if (ended && ended.status !== "RUNNING") return ended;
    // Another call's run in progress, or a retry scheduled: wait what is left for the end.
    return this.#flow.outcome(Math.max(0, deadline - Date.now()));
  }

  /** The saga's state now; waits up to `waitMs` for it to end first. */
  outcome(waitMs = 0): Promise<SagaState | undefined> {
    return this.#flow.outcome(waitMs);
  }

  /** Operator: run a saga in NEEDS_ATTENTION again from the step it stopped at. */
  retry(): Promise<SagaState | undefined> {
    return conflictsAsAppErrors(() => this.#flow.retry());
  }

  /**
   * Operator: where compensating this saga in NEEDS_ATTENTION would start, or why it cannot be
   * (not waiting for a person, or already in the ledger: undoing a recorded movement is a new
   * transfer, never a change to this one). Said in words: a class does not cross the RPC boundary.
   */
  compensation(): Promise<{ step: SagaStep } | { refused: string } | undefined> {
    return this.#flow.compensation();
  }

  /**
   * Operator: undo what a saga in NEEDS_ATTENTION did and end it FAILED
   * (`compensated_by_operator`); a refused undo goes back to NEEDS_ATTENTION.
   */
  compensate(): Promise<SagaState | undefined> {
    return conflictsAsAppErrors(() => this.#flow.compensate());
  }

  /** Faults armed in this object, read from storage once per instance (test environments only). */
  #armed: Promise<{ crashAt?: CrashPoint | undefined; refuseAt?: SagaStep | undefined }> | undefined;

  #armedFaults() {
    this.#armed ??= this.ctx.storage.get<string>(["crashAt", "refuseAt"]).then((stored) => ({
      crashAt: stored.get("crashAt") as CrashPoint | undefined,
      refuseAt: stored.get("refuseAt") as SagaStep | undefined,
    }));
    return this.#armed;
  }

  /** Test environments only: crash at `point` the next time the saga gets there. */
  async injectCrash(point: CrashPoint): Promise<void> {
    if (!faultsAllowed(this.env)) throw new AppError("forbidden", "Fault injection is disabled in production.");
    await this.ctx.storage.put("crashAt", point);
    this.#armed = undefined;
  }

  /**
   * Test environments only: the next time the saga performs `step`, it acts as if the callee
   * refused it for good (a step after the credit then needs an operator).
   */
  async injectRefusal(step: SagaStep): Promise<void> {
    if (!faultsAllowed(this.env)) throw new AppError("forbidden", "Fault injection is disabled in production.");
    await this.ctx.storage.put("refuseAt", step);
    this.#armed = undefined;
  }

  override async alarm(): Promise<void> {
    if (this.#flow.running) {
      // A caller's run is still going: look again later rather than lose the backstop.
      await this.ctx.storage.setAlarm(Date.now() + BACKSTOP_MS);
      return;
    }
    await this.#run();
  }

  /** Runs the saga's steps (when it is running), continuing the trace of the request that started it. */
  async #run(): Promise<SagaState | undefined> {
    const state = await this.#flow.outcome();
    if (state?.status !== "RUNNING") return state;
    return traceWork(
      "transfers",
      this.env,
      {
        name: "TransferSagaDO run",
        kind: "server",
        parent: state.subject.traceparent,
        attributes: { "edgebank.transfer_id": state.subject.id, "edgebank.saga.step": state.step },
        waitUntil: (promise) => this.ctx.waitUntil(promise),
      },
      async (span) => {
        const ended = await this.#flow.run();
        span?.setAttributes({ "edgebank.saga.status": ended?.status ?? "running" });
        return ended;
      },
    );
  }

  async #refusalIf(step: SagaStep) {
    const armed = await this.#armedFaults();
    if (armed.refuseAt !== step) return undefined;
    armed.refuseAt = undefined;
    await this.ctx.storage.delete("refuseAt");
    return { step: "escalate" as const, status: "RUNNING" as const, reason: `${step}_refused: injected` };
  }

  async #crashIf(point: CrashPoint): Promise<void> {
    const faults = await this.#armedFaults();
    const armed = faults.crashAt;
    if (armed === undefined) return;
    const [step, when] = point.split(":");
    if (when === "before" && armed === `${step}:throw`) {
      // An unexpected error in the alarm: reported, and the saga goes on at its next alarm.
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
}

/** Whether faults may be injected: every environment but production. */
function faultsAllowed(env: Env): boolean {
  try {
    return config(env).ENVIRONMENT !== "production";
  } catch {
    return false;
  }
}

/** An operator action the flow refuses is a 409, said in words. */
async function conflictsAsAppErrors<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof FlowConflict) throw new AppError("conflict", error.message.replace("flow", "saga"));
    throw error;
  }
}
