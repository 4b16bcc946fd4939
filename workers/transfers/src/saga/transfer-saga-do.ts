import { DurableObject } from "cloudflare:workers";
import { AppError } from "@edgebank/errors";
import { countEvent, traceWork } from "@edgebank/http";
import {
  type AccountOperation,
  type Outcome,
  operateAccount,
  recordInLedger,
  TransientFailure,
} from "@edgebank/service/clients";
import { withSpan } from "@edgebank/telemetry";
import { settleTransfer } from "../domain/settlement.ts";
import { relayTransferEvents } from "../events.ts";
import { config } from "../service.ts";
import { afterTransientFailure } from "./retry-policy.ts";

/** What a saga moves; amounts in minor units as decimal strings. */
export interface SagaTransfer {
  id: string;
  /** A deposit may credit a frozen account (money may always come in); a transfer may not. */
  kind: "transfer" | "deposit" | "withdrawal";
  fromAccountId: string;
  toAccountId: string;
  amount: string;
  currency: string;
  description: string;
  /** The W3C traceparent of the request that started it: its outcome event continues that trace. */
  traceparent?: string;
}

/**
 * The steps, in order. Forward: hold on the source → credit the destination → capture the
 * hold → record the ledger entry → complete. Compensation: release the hold → fail. An
 * operator's compensation of a saga that stopped after the credit: reverse the credit → undo
 * the capture (release the hold, or give back what was captured) → fail.
 */
export type SagaStep =
  | "hold"
  | "credit"
  | "capture"
  | "record"
  | "complete"
  | "release"
  | "fail"
  | "escalate"
  | "reverse_credit"
  | "reverse_capture";

/** Every step, for validating test hooks. */
export const sagaSteps: readonly SagaStep[] = [
  "hold",
  "credit",
  "capture",
  "record",
  "complete",
  "release",
  "fail",
  "escalate",
  "reverse_credit",
  "reverse_capture",
];

/** The reason a saga an operator compensated ends FAILED with. */
export const COMPENSATED_BY_OPERATOR = "compensated_by_operator";
export type SagaStatus = "RUNNING" | "COMPLETED" | "FAILED" | "NEEDS_ATTENTION";

export interface SagaState {
  transfer: SagaTransfer;
  step: SagaStep;
  status: SagaStatus;
  /** Why it failed or needs attention (a stable reason). */
  reason?: string;
  /** Failed attempts of the current step. */
  attempts: number;
  /** When the current step first failed (ISO time), while it is being retried. */
  failingSince?: string;
  /** The step that could not finish, where an operator's retry resumes. */
  resumeAt?: SagaStep;
  /**
   * How many times an undo (taking the credit back, giving the capture back) was refused for
   * good. An operation id answers the same forever, so each new round of compensation uses ids
   * of its own; a round only begins after the previous one's answer was a definite refusal.
   */
  reversalRound?: number;
  /** Each step's intent and outcome, in order: what an operator reads. */
  history: Array<{ step: SagaStep; event: "started" | "done" | "retry"; detail?: string; at: string }>;
}

/** Test environments only: where the object crashes (before or after a step's side effect). */
/** `<step>:before|after`: the object crashes there once; `<step>:throw`: the step throws once (an unexpected error). */
export type CrashPoint = `${SagaStep}:${"before" | "after" | "throw"}`;

/** A hold outlives any saga that is still running; an abandoned one is released by its alarm. */
const HOLD_TTL_MS = 7 * 24 * 3600_000;
/** Reasons a business refusal at each step is reported with. */
const refusalReasons: Record<string, string> = {
  insufficient_funds: "insufficient_funds",
  account_frozen: "account_frozen",
  account_closed: "account_closed",
  currency_mismatch: "currency_mismatch",
};

/**
 * The orchestrator of one transfer, addressed by its id. Every step's intent is stored before
 * its side effect and its outcome after, each side effect carries a deterministic operation id
 * (`<transfer>:<step>`), and the alarm drives the steps, so a crash anywhere resumes where it
 * stopped and never applies anything twice. Business refusals compensate (release the hold)
 * and end FAILED; transient failures retry with full-jitter backoff; what can neither finish nor
 * compensate ends NEEDS_ATTENTION for an operator.
 */
export class TransferSagaDO extends DurableObject<Env> {
  #waiters: Array<() => void> = [];
  #running = false;

  /**
   * Starts the saga (once: a second call with the same transfer changes nothing). `crashAt`
   * (test environments only) makes the object crash once at that step boundary.
   */
  async start(transfer: SagaTransfer, options: { crashAt?: CrashPoint; refuseAt?: SagaStep } = {}): Promise<void> {
    if (await this.#load()) return;
    if (options.crashAt) await this.injectCrash(options.crashAt);
    if (options.refuseAt) await this.injectRefusal(options.refuseAt);
    const state: SagaState = { transfer, step: "hold", status: "RUNNING", attempts: 0, history: [] };
    await this.ctx.storage.put("saga", state);
    await this.ctx.storage.setAlarm(Date.now());
  }

  /** The saga's state now; waits up to `waitMs` for it to end first. */
  async outcome(waitMs = 0): Promise<SagaState | undefined> {
    const state = await this.#load();
    if (state?.status !== "RUNNING" || waitMs <= 0) return state;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.#load();
  }

  /** Operator: run a saga in NEEDS_ATTENTION again from the step it stopped at. */
  async retry(): Promise<SagaState | undefined> {
    const state = await this.#load();
    if (!state) return undefined;
    if (state.status !== "NEEDS_ATTENTION") throw new AppError("conflict", `The saga is ${state.status}.`);
    const resumed: SagaState = { ...settled(state), status: "RUNNING", step: state.resumeAt ?? "hold" };
    delete resumed.reason;
    delete resumed.resumeAt;
    await this.ctx.storage.put("saga", resumed);
    await this.ctx.storage.setAlarm(Date.now());
    return resumed;
  }

  /**
   * Operator: where compensating this saga in NEEDS_ATTENTION would start; a 409 when it cannot
   * be compensated (not waiting for a person, or already in the ledger: undoing a recorded
   * movement is a new transfer, never a change to this one).
   */
  async compensation(): Promise<{ step: SagaStep } | { refused: string } | undefined> {
    const state = await this.#load();
    if (!state) return undefined;
    try {
      return { step: compensationStart(state) };
    } catch (error) {
      // Said in words: an AppError does not keep its class across the RPC boundary.
      return { refused: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * Operator: undo what a saga in NEEDS_ATTENTION did and end it FAILED
   * (`compensated_by_operator`). Each undo is an operation with its own deterministic id, so a
   * crash or a second request never undoes anything twice; a refused undo (the destination
   * spent the money, or is frozen) goes back to NEEDS_ATTENTION, to be compensated again later.
   */
  async compensate(): Promise<SagaState | undefined> {
    const state = await this.#load();
    if (!state) return undefined;
    const resumed: SagaState = {
      ...settled(state),
      status: "RUNNING",
      step: compensationStart(state),
      reason: COMPENSATED_BY_OPERATOR,
    };
    delete resumed.resumeAt;
    await this.ctx.storage.put("saga", resumed);
    await this.ctx.storage.setAlarm(Date.now());
    return resumed;
  }

  /** Test environments only: crash at `point` the next time the saga gets there. */
  async injectCrash(point: CrashPoint): Promise<void> {
    if (config(this.env).ENVIRONMENT === "production") {
      throw new AppError("forbidden", "Fault injection is disabled in production.");
    }
    await this.ctx.storage.put("crashAt", point);
  }

  /**
   * Test environments only: the next time the saga performs `step`, it acts as if the callee
   * refused it for good (a step after the credit then needs an operator).
   */
  async injectRefusal(step: SagaStep): Promise<void> {
    if (config(this.env).ENVIRONMENT === "production") {
      throw new AppError("forbidden", "Fault injection is disabled in production.");
    }
    await this.ctx.storage.put("refuseAt", step);
  }

  override async alarm(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      let state = await this.#load();
      if (state?.status !== "RUNNING") return;
      // The saga's steps continue the trace of the request that started it.
      await traceWork(
        "transfers",
        this.env,
        {
          name: "TransferSagaDO run",
          kind: "server",
          parent: state.transfer.traceparent,
          attributes: { "edgebank.transfer_id": state.transfer.id, "edgebank.saga.step": state.step },
          waitUntil: (promise) => this.ctx.waitUntil(promise),
        },
        async (span) => {
          while (state && state.status === "RUNNING") {
            const current: SagaState = state;
            const next = await withSpan(`saga ${current.step}`, {}, () => this.#advance(current));
            // Saga state changes: each step run and where it left the saga (RUNNING, a retry later, an end).
            countEvent(this.env, "transfers", "saga_step", {
              step: current.step,
              status: next === "later" ? "RETRY_LATER" : next.status,
            });
            if (next === "later") return;
            state = next;
          }
          span?.setAttributes({ "edgebank.saga.status": state?.status ?? "unknown" });
        },
      );
    } finally {
      this.#running = false;
      for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  async #load(): Promise<SagaState | undefined> {
    return this.ctx.storage.get<SagaState>("saga");
  }

  async #save(state: SagaState): Promise<SagaState> {
    await this.ctx.storage.put("saga", state);
    return state;
  }

  /** Runs the current step once: the next state, or "later" when a retry was scheduled. */
  async #advance(state: SagaState): Promise<SagaState | "later"> {
    const { step } = state;
    const at = () => new Date().toISOString();
    await this.#crashIf(`${step}:before`);
    const started = await this.#save({
      ...state,
      history: [...state.history, { step, event: "started", at: at() }],
    });
    let next: Pick<SagaState, "step" | "status" | "reason" | "reversalRound">;
    try {
      next = (await this.#refusalIf(step)) ?? (await this.#perform(started));
    } catch (error) {
      if (!(error instanceof TransientFailure)) throw error;
      return this.#retryLater(started, error.what);
    }
    const done = await this.#save({
      ...settled(started),
      ...next,
      ...(next.step === "escalate" && step !== "escalate" ? { resumeAt: step } : {}),
      history: [...started.history, { step, event: "done", detail: next.reason ?? next.step, at: at() }],
    });
    await this.#crashIf(`${step}:after`);
    return done;
  }

  /** The side effect of a step, and where the outcome leads. */
  async #perform(state: SagaState): Promise<Pick<SagaState, "step" | "status" | "reason" | "reversalRound">> {
    const t = state.transfer;
    const running = (step: SagaStep) => ({ step, status: "RUNNING" as const });
    const fail = (reason: string) => ({ step: "release" as const, status: "RUNNING" as const, reason });
    const escalate = (reason: string) => ({ step: "escalate" as const, status: "RUNNING" as const, reason });
    // Every call carries the transfer's trace; the steps that are replayed during compensation
    // (the credit, the capture, the release) must send exactly what they sent the first time.
    const operate = (accountId: string, operation: AccountOperation) =>
      operateAccount(this.env, accountId, operation, t.traceparent);
    const credit: AccountOperation = {
      kind: "credit",
      operationId: `${t.id}:credit`,
      amount: t.amount,
      currency: t.currency,
      requireActive: t.kind !== "deposit",
    };
    const capture: AccountOperation = { kind: "capture", operationId: `${t.id}:capture`, holdId: t.id };
    const release: AccountOperation = { kind: "release", operationId: `${t.id}:release`, holdId: t.id };
    switch (state.step) {
      case "hold": {
        const outcome = await operate(t.fromAccountId, {
          kind: "hold",
          operationId: `${t.id}:hold`,
          holdId: t.id,
          amount: t.amount,
          currency: t.currency,
          expiresAt: new Date(Date.now() + HOLD_TTL_MS).toISOString(),
        });
        if (outcome.kind === "applied") return running("credit");
        return { step: "fail", status: "RUNNING", reason: businessReason(outcome, "source") };
      }
      case "credit": {
        const outcome = await operate(t.toAccountId, credit);
        if (outcome.kind === "applied") return running("capture");
        return fail(businessReason(outcome, "destination"));
      }
      case "capture": {
        const outcome = await operate(t.fromAccountId, capture);
        if (outcome.kind === "applied") return running("record");
        // The destination was credited but the hold is gone: only a person can settle this.
        return escalate(`capture_failed: ${describe(outcome)}`);
      }
      case "record": {
        const outcome = await recordInLedger(this.env, {
          transferId: t.id,
          description: t.description,
          postings: [
            { accountId: t.fromAccountId, amount: `-${t.amount}`, currency: t.currency },
            { accountId: t.toAccountId, amount: t.amount, currency: t.currency },
          ],
        });
        if (outcome.kind === "applied") return running("complete");
        return escalate(`ledger_refused: ${describe(outcome)}`);
      }
      case "complete":
        await settleTransfer(this.env, t.id, { status: "COMPLETED" }, t.traceparent);
        this.ctx.waitUntil(relayTransferEvents(this.env, "commit"));
        return { step: "complete", status: "COMPLETED" };
      case "release": {
        const outcome = await operate(t.fromAccountId, release);
        // Released now, or already gone (expired): either way nothing is held any more.
        if (outcome.kind === "applied" || (outcome.kind === "refused" && outcome.reason === "hold_not_found")) {
          return { step: "fail", status: "RUNNING", ...(state.reason ? { reason: state.reason } : {}) };
        }
        return escalate(`release_failed: ${describe(outcome)}`);
      }
      case "reverse_credit": {
        const round = state.reversalRound ? `:${state.reversalRound}` : "";
        const refused = (outcome: Outcome) => ({
          ...escalate(`reversal_refused: ${describe(outcome)}`),
          reversalRound: (state.reversalRound ?? 0) + 1,
        });
        // Replaying the credit with its own id answers how it went the first time (or applies it
        // now, if it never reached the account); only an applied credit is taken back.
        const credited = await operate(t.toAccountId, credit);
        if (credited.kind === "conflict") return escalate(`reversal_failed: ${describe(credited)}`);
        if (credited.kind !== "applied") return running("reverse_capture");
        const debit = await operate(t.toAccountId, {
          kind: "debit",
          operationId: `${t.id}:reverse-credit${round}`,
          amount: t.amount,
          currency: t.currency,
        });
        if (debit.kind === "applied") return running("reverse_capture");
        return debit.kind === "refused" ? refused(debit) : escalate(`reversal_failed: ${describe(debit)}`);
      }
      case "reverse_capture": {
        const round = state.reversalRound ? `:${state.reversalRound}` : "";
        // A hold still open was never captured: releasing it is all there is to undo.
        const released = await operate(t.fromAccountId, release);
        if (released.kind === "applied") return running("fail");
        if (!(released.kind === "refused" && released.reason === "hold_not_found")) {
          return escalate(`release_failed: ${describe(released)}`);
        }
        // The hold is gone: captured (replaying the capture says so) or expired.
        const captured = await operate(t.fromAccountId, capture);
        if (captured.kind === "refused" && captured.reason === "hold_not_found") return running("fail");
        if (captured.kind !== "applied") return escalate(`reversal_failed: ${describe(captured)}`);
        const refund = await operate(t.fromAccountId, {
          kind: "credit",
          operationId: `${t.id}:return-capture${round}`,
          amount: t.amount,
          currency: t.currency,
        });
        if (refund.kind === "applied") return running("fail");
        if (refund.kind !== "refused") return escalate(`reversal_failed: ${describe(refund)}`);
        return {
          ...escalate(`reversal_refused: ${describe(refund)}`),
          reversalRound: (state.reversalRound ?? 0) + 1,
        };
      }
      case "fail": {
        const reason = state.reason ?? "failed";
        await settleTransfer(this.env, t.id, { status: "FAILED", reason }, t.traceparent);
        this.ctx.waitUntil(relayTransferEvents(this.env, "commit"));
        return { step: "fail", status: "FAILED", reason };
      }
      case "escalate": {
        const reason = state.reason ?? "needs_attention";
        await settleTransfer(this.env, t.id, { status: "NEEDS_ATTENTION", reason }, t.traceparent);
        this.ctx.waitUntil(relayTransferEvents(this.env, "commit"));
        return { step: "escalate", status: "NEEDS_ATTENTION", reason };
      }
    }
  }

  /**
   * Schedules the step again after a full-jitter backoff. A step that keeps failing stops: the
   * hold after a few tries (the saga compensates); a step after the credit once it has failed
   * for a while (it needs a person): see retry-policy.ts.
   */
  async #retryLater(state: SagaState, detail: string): Promise<"later" | SagaState> {
    const attempts = state.attempts + 1;
    const at = new Date().toISOString();
    const failingSince = state.failingSince ?? at;
    const compensable = state.step === "hold";
    const decision = afterTransientFailure({
      compensable,
      attempts,
      failingSinceMs: Date.parse(failingSince),
      nowMs: Date.now(),
    });
    if (decision === "give_up") {
      return this.#save({
        ...settled(state),
        step: compensable ? "release" : "escalate",
        ...(compensable ? {} : { resumeAt: state.step }),
        reason: `${state.step}_unavailable`,
        history: [...state.history, { step: state.step, event: "retry", detail: `gave up: ${detail}`, at }],
      });
    }
    await this.#save({
      ...state,
      attempts,
      failingSince,
      history: [...state.history, { step: state.step, event: "retry", detail, at }],
    });
    await this.ctx.storage.setAlarm(Date.now() + decision.retryInMs);
    return "later";
  }

  async #refusalIf(step: SagaStep): Promise<Pick<SagaState, "step" | "status" | "reason"> | undefined> {
    if ((await this.ctx.storage.get<SagaStep>("refuseAt")) !== step) return undefined;
    await this.ctx.storage.delete("refuseAt");
    return { step: "escalate", status: "RUNNING", reason: `${step}_refused: injected` };
  }

  async #crashIf(point: CrashPoint): Promise<void> {
    const armed = await this.ctx.storage.get<CrashPoint>("crashAt");
    const [step, when] = point.split(":");
    if (when === "before" && armed === `${step}:throw`) {
      // An unexpected error in the alarm: reported, and the saga goes on at its next alarm.
      await this.ctx.storage.delete("crashAt");
      await this.ctx.storage.setAlarm(Date.now() + 50);
      throw new Error(`Injected failure before ${step} (test environments only).`);
    }
    if (armed !== point) return;
    await this.ctx.storage.delete("crashAt");
    // As if the machine died here: the next alarm (set now) finds the state as stored. The
    // writes are made durable first, or the crash would take them (and this one-shot) with it.
    await this.ctx.storage.setAlarm(Date.now() + 50);
    await this.ctx.storage.sync();
    this.ctx.abort(`injected crash at ${point}`);
  }
}

/** The state with its current step's retries forgotten (the step finished, or starts afresh). */
function settled(state: SagaState): SagaState {
  const { failingSince, ...rest } = state;
  return { ...rest, attempts: 0 };
}

/** The first compensation step of a saga in NEEDS_ATTENTION, or a 409 saying why there is none. */
function compensationStart(state: SagaState): SagaStep {
  if (state.status !== "NEEDS_ATTENTION") throw new AppError("conflict", `The saga is ${state.status}.`);
  switch (state.resumeAt) {
    case "release":
      return "release";
    case "credit":
    case "capture":
    case "record":
    case "reverse_credit":
      return "reverse_credit";
    case "reverse_capture":
      return "reverse_capture";
    default:
      throw new AppError(
        "conflict",
        "The movement is recorded in the ledger: it cannot be compensated, only reversed by a new transfer.",
      );
  }
}

function businessReason(outcome: Outcome, side: "source" | "destination"): string {
  if (outcome.kind === "refused") return refusalReasons[outcome.reason] ?? outcome.reason;
  if (outcome.kind === "not_found") return `${side}_not_found`;
  return `${side}_rejected`;
}

function describe(outcome: Outcome): string {
  if (outcome.kind === "refused") return outcome.reason;
  if (outcome.kind === "conflict") return outcome.detail;
  return outcome.kind;
}
