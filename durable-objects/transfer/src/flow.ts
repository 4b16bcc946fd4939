import type { AccountOperation } from "@edgebank/contracts";
import type { FlowDefinition, FlowResult, FlowState, StepOutcome, Transition } from "@edgebank/durable-objects/flow";

/**
 * A transfer (a deposit, a withdrawal) as a flow of steps. Forward: hold on the source → credit
 * the destination → capture the hold → record the ledger entry → complete. Compensation: release
 * the hold → fail. An operator's compensation of a flow that stopped after the credit: reverse
 * the credit → undo the capture (release the hold, or give back what was captured) → fail.
 * Every side effect carries the operation id `<transfer>:<step>`; the steps that are replayed
 * during compensation (the credit, the capture, the release) send exactly what they sent the
 * first time.
 */

/** What a transfer moves; amounts in minor units as decimal strings. */
export interface TransferSubject {
  id: string;
  /** A deposit may credit a frozen account (money may always come in); a transfer may not. */
  kind: "transfer" | "deposit" | "withdrawal";
  /**
   * A customer's transfer: the user who must own the source, checked by the hold itself (no
   * read of the account before it); anyone else's account is, to them, one that does not exist.
   */
  ownedBy?: string;
  fromAccountId: string;
  toAccountId: string;
  amount: string;
  currency: string;
  description: string;
  /** The W3C traceparent of the request that started it: every call and its outcome event continue that trace. */
  traceparent?: string;
  /**
   * Who waits for the answer: the request's Idempotency-Key (its caller and key), its path and
   * request id. The settlement stores the final answer under that key in its own commit.
   */
  answerTo?: { principal: string; key: string; instance: string; requestId: string };
}

export const transferSteps = [
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
] as const;
export type TransferStep = (typeof transferSteps)[number];
export type TransferState = FlowState<TransferStep, TransferSubject>;

/** What a transfer's steps do to the world: the shell binds them to the accounts, the ledger and the transfer's row. */
export interface TransferPorts {
  operate(accountId: string, operation: AccountOperation, traceparent: string | undefined): Promise<StepOutcome>;
  record(
    entry: {
      transferId: string;
      description: string;
      postings: Array<{ accountId: string; amount: string; currency: string }>;
    },
    traceparent: string | undefined,
  ): Promise<StepOutcome>;
  /**
   * Settles the transfer's row (and its outcome event) in its final state; may answer what
   * its requester is to be told (kept as the flow's result).
   */
  settle(
    transferId: string,
    outcome: { status: "COMPLETED" } | { status: "FAILED" | "NEEDS_ATTENTION"; reason: string },
    traceparent: string | undefined,
    answerTo: TransferSubject["answerTo"],
  ): Promise<FlowResult | undefined>;
}

/** The reason a transfer an operator compensated ends FAILED with. */
export const COMPENSATED_BY_OPERATOR = "compensated_by_operator";

/** A hold outlives any transfer that is still running; an abandoned one is released by its alarm. */
export const HOLD_TTL_MS = 7 * 24 * 3600_000;

/** Reasons a business refusal is reported with. */
const refusalReasons: Record<string, string> = {
  insufficient_funds: "insufficient_funds",
  account_frozen: "account_frozen",
  account_closed: "account_closed",
  currency_mismatch: "currency_mismatch",
};

export function transferFlow(
  ports: TransferPorts,
  now: () => number = Date.now,
): FlowDefinition<TransferStep, TransferSubject> {
  return {
    first: "hold",
    escalation: "escalate",
    compensation: "release",
    // Before anything was credited, giving up releases the hold; afterwards it needs a person.
    compensable: (step) => step === "hold",
    compensatedReason: COMPENSATED_BY_OPERATOR,
    compensationStart,
    perform: (state) => perform(ports, state, now),
  };
}

async function perform(
  ports: TransferPorts,
  state: TransferState,
  now: () => number,
): Promise<Transition<TransferStep>> {
  const t = state.subject;
  const running = (step: TransferStep) => ({ step, status: "RUNNING" as const });
  const fail = (reason: string) => ({ step: "release" as const, status: "RUNNING" as const, reason });
  const escalate = (reason: string) => ({ step: "escalate" as const, status: "RUNNING" as const, reason });
  const operate = (accountId: string, operation: AccountOperation) =>
    ports.operate(accountId, operation, t.traceparent);
  const credit: AccountOperation = {
    kind: "credit",
    operationId: `${t.id}:credit`,
    amount: t.amount,
    currency: t.currency,
    requireActive: t.kind !== "deposit",
  };
  const capture: AccountOperation = { kind: "capture", operationId: `${t.id}:capture`, holdId: t.id };
  const release: AccountOperation = { kind: "release", operationId: `${t.id}:release`, holdId: t.id };
  const round = state.round ? `:${state.round}` : "";
  /**
   * An undo: a new movement with this round's operation id. Applied, the flow goes on to `then`;
   * refused for good, it waits for an operator, whose next round uses new ids.
   */
  const undo = async (accountId: string, operation: AccountOperation, then: TransferStep) => {
    const outcome = await operate(accountId, operation);
    if (outcome.kind === "applied") return running(then);
    if (outcome.kind !== "refused") return escalate(`reversal_failed: ${describe(outcome)}`);
    return { ...escalate(`reversal_refused: ${describe(outcome)}`), round: (state.round ?? 0) + 1 };
  };
  switch (state.step) {
    case "hold": {
      const outcome = await operate(t.fromAccountId, {
        kind: "hold",
        operationId: `${t.id}:hold`,
        holdId: t.id,
        amount: t.amount,
        currency: t.currency,
        expiresAt: new Date(now() + HOLD_TTL_MS).toISOString(),
        ...(t.ownedBy !== undefined ? { ownedBy: t.ownedBy } : {}),
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
      const outcome = await ports.record(
        {
          transferId: t.id,
          description: t.description,
          postings: [
            { accountId: t.fromAccountId, amount: `-${t.amount}`, currency: t.currency },
            { accountId: t.toAccountId, amount: t.amount, currency: t.currency },
          ],
        },
        t.traceparent,
      );
      if (outcome.kind === "applied") return running("complete");
      return escalate(`ledger_refused: ${describe(outcome)}`);
    }
    case "complete": {
      const result = await ports.settle(t.id, { status: "COMPLETED" }, t.traceparent, t.answerTo);
      return { step: "complete", status: "COMPLETED", ...(result ? { result } : {}) };
    }
    case "release": {
      const outcome = await operate(t.fromAccountId, release);
      // Released now, or already gone (expired): either way nothing is held any more.
      if (outcome.kind === "applied" || (outcome.kind === "refused" && outcome.reason === "hold_not_found")) {
        return { step: "fail", status: "RUNNING", ...(state.reason ? { reason: state.reason } : {}) };
      }
      return escalate(`release_failed: ${describe(outcome)}`);
    }
    case "reverse_credit": {
      // Replaying the credit with its own id answers how it went the first time (or applies it
      // now, if it never reached the account); only an applied credit is taken back.
      const credited = await operate(t.toAccountId, credit);
      if (credited.kind === "conflict") return escalate(`reversal_failed: ${describe(credited)}`);
      if (credited.kind !== "applied") return running("reverse_capture");
      return undo(
        t.toAccountId,
        { kind: "debit", operationId: `${t.id}:reverse-credit${round}`, amount: t.amount, currency: t.currency },
        "reverse_capture",
      );
    }
    case "reverse_capture": {
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
      return undo(
        t.fromAccountId,
        { kind: "credit", operationId: `${t.id}:return-capture${round}`, amount: t.amount, currency: t.currency },
        "fail",
      );
    }
    case "fail": {
      const reason = state.reason ?? "failed";
      const result = await ports.settle(t.id, { status: "FAILED", reason }, t.traceparent, t.answerTo);
      return { step: "fail", status: "FAILED", reason, ...(result ? { result } : {}) };
    }
    case "escalate": {
      const reason = state.reason ?? "needs_attention";
      const result = await ports.settle(t.id, { status: "NEEDS_ATTENTION", reason }, t.traceparent, t.answerTo);
      return { step: "escalate", status: "NEEDS_ATTENTION", reason, ...(result ? { result } : {}) };
    }
  }
}

/** The first step of an operator's compensation, or why there is none. */
function compensationStart(state: TransferState): TransferStep | { refused: string } {
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
      return {
        refused: "The movement is recorded in the ledger: it cannot be compensated, only reversed by a new transfer.",
      };
  }
}

function businessReason(outcome: StepOutcome, side: "source" | "destination"): string {
  if (outcome.kind === "refused" && outcome.reason === "not_owner") return `${side}_not_found`;
  if (outcome.kind === "refused") return refusalReasons[outcome.reason] ?? outcome.reason;
  if (outcome.kind === "not_found") return `${side}_not_found`;
  return `${side}_rejected`;
}

function describe(outcome: StepOutcome): string {
  if (outcome.kind === "refused") return outcome.reason;
  if (outcome.kind === "conflict") return outcome.detail;
  return outcome.kind;
}
