import type { FlowDefinition, FlowState, Transition } from "@edgebank/durable-objects/flow";
import { COMPENSATED_BY_OPERATOR, type MoneyPorts, reasonOf } from "./ports.ts";

/**
 * A refund of (part of) a payment as a flow of steps: debit (the merchant's account) → credit
 * (the payer's) → record (a balanced ledger entry) → complete. A refused debit (the merchant's
 * balance, a frozen account) fails it, and its settlement gives the reserved amount back to the
 * payment; a payer account that refuses the credit after the debit needs an operator. Giving up
 * on an unreachable debit, or an operator's compensation before the credit, replays the debit
 * (its answer says whether it happened) and gives back what it took. Operation ids are
 * `<refund>:<step>`, as before this machine ran refunds.
 */

export interface RefundSubject {
  id: string;
  paymentId: string;
  merchantAccountId: string;
  payerAccountId: string;
  amount: string;
  currency: string;
  /** The ledger entry's description. */
  description: string;
  traceparent?: string;
}

export const refundSteps = ["debit", "credit", "record", "complete", "reverse_debit", "fail", "escalate"] as const;
export type RefundStep = (typeof refundSteps)[number];
export type RefundState = FlowState<RefundStep, RefundSubject>;

export type RefundSettlement = { status: "COMPLETED" } | { status: "FAILED" | "NEEDS_ATTENTION"; reason: string };

export type RefundPorts = MoneyPorts<RefundSettlement>;

export function refundFlow(ports: RefundPorts): FlowDefinition<RefundStep, RefundSubject> {
  return {
    first: "debit",
    escalation: "escalate",
    compensation: "reverse_debit",
    compensable: (step) => step === "debit",
    compensatedReason: COMPENSATED_BY_OPERATOR,
    compensationStart: (state) =>
      state.resumeAt === "debit" || state.resumeAt === "reverse_debit"
        ? "reverse_debit"
        : { refused: "The merchant was debited and the payer may have been credited: retry the refund to finish it." },
    perform: (state) => perform(ports, state),
  };
}

async function perform(ports: RefundPorts, state: RefundState): Promise<Transition<RefundStep>> {
  const r = state.subject;
  const running = (step: RefundStep, reason = state.reason) => ({
    step,
    status: "RUNNING" as const,
    ...(reason !== undefined ? { reason } : {}),
  });
  const escalate = (reason: string) => ({ step: "escalate" as const, status: "RUNNING" as const, reason });
  const debit = {
    kind: "debit" as const,
    operationId: `${r.id}:debit`,
    amount: r.amount,
    currency: r.currency,
  };
  switch (state.step) {
    case "debit": {
      const outcome = await ports.operate(r.merchantAccountId, debit, r.traceparent);
      if (outcome.kind === "applied") return running("credit");
      return running("fail", reasonOf(outcome));
    }
    case "credit": {
      const outcome = await ports.operate(
        r.payerAccountId,
        { kind: "credit", operationId: `${r.id}:credit`, amount: r.amount, currency: r.currency },
        r.traceparent,
      );
      if (outcome.kind === "applied") return running("record");
      return escalate(`payer_${reasonOf(outcome)}`);
    }
    case "record": {
      const outcome = await ports.record(
        {
          transferId: r.id,
          description: r.description,
          postings: [
            { accountId: r.merchantAccountId, amount: `-${r.amount}`, currency: r.currency },
            { accountId: r.payerAccountId, amount: r.amount, currency: r.currency },
          ],
        },
        r.traceparent,
      );
      if (outcome.kind === "applied") return running("complete");
      return escalate(`ledger_refused: ${reasonOf(outcome)}`);
    }
    case "complete":
      await ports.settle(r.id, { status: "COMPLETED" }, r.traceparent);
      return { step: "complete", status: "COMPLETED" };
    case "reverse_debit": {
      // Replaying the debit with its own id answers how it went (or applies it now, if it never
      // reached the account); only an applied debit is given back, with an id of this round.
      const debited = await ports.operate(r.merchantAccountId, debit, r.traceparent);
      if (debited.kind === "conflict") return escalate(`reversal_failed: ${reasonOf(debited)}`);
      if (debited.kind !== "applied") return running("fail");
      const round = state.round ? `:${state.round}` : "";
      const back = await ports.operate(
        r.merchantAccountId,
        { kind: "credit", operationId: `${r.id}:reverse-debit${round}`, amount: r.amount, currency: r.currency },
        r.traceparent,
      );
      if (back.kind === "applied") return running("fail");
      if (back.kind !== "refused") return escalate(`reversal_failed: ${reasonOf(back)}`);
      return { ...escalate(`reversal_refused: ${reasonOf(back)}`), round: (state.round ?? 0) + 1 };
    }
    case "fail": {
      const reason = state.reason ?? "failed";
      await ports.settle(r.id, { status: "FAILED", reason }, r.traceparent);
      return { step: "fail", status: "FAILED", reason };
    }
    case "escalate": {
      const reason = state.reason ?? "needs_attention";
      await ports.settle(r.id, { status: "NEEDS_ATTENTION", reason }, r.traceparent);
      return { step: "escalate", status: "NEEDS_ATTENTION", reason };
    }
  }
}
