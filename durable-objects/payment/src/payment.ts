import type { AccountOperation } from "@edgebank/contracts";
import type { FlowDefinition, FlowState, Transition } from "@edgebank/durable-objects/flow";
import { COMPENSATED_BY_OPERATOR, type MoneyPorts, reasonOf, released } from "./ports.ts";

/**
 * A payment to a merchant as a flow of steps. Forward: authorize (a hold on the payer's account)
 * → capture (the payer's money is taken) → credit (the merchant's account) → record (one
 * balanced ledger entry) → complete. The capture comes before the credit, so a merchant is
 * never paid from a hold that lapsed: a capture refused (the authorization expired, the account
 * closed) releases what is left and fails; a merchant account that refuses the credit gets the
 * captured money returned to the payer, then fails. An order's payment stops after its
 * authorization, WAITING at `await_stock`, until the choreography says `capture` (its stock is
 * reserved) or `void` (no stock, or the order was cancelled): the first signal wins.
 *
 * Operation ids are `<payment>:<step>` (the hold is `<payment>:hold`), the ones payments used
 * before they ran on this machine, so a replayed step is answered, never applied twice.
 */

/** What a payment moves; amounts in minor units as decimal strings. */
export interface PaymentSubject {
  id: string;
  payerAccountId: string;
  merchantAccountId: string;
  amount: string;
  currency: string;
  /** The ledger entry's description. */
  description: string;
  /** When the authorization (the hold) lapses, ISO time. */
  authorizationExpiresAt: string;
  /** The order it pays: the flow waits, authorized, for the choreography. */
  orderId?: string;
  /** The W3C traceparent of the request (or event) that started it. */
  traceparent?: string;
}

export const paymentSteps = [
  "authorize",
  "authorized",
  "await_stock",
  "capture",
  "credit",
  "record",
  "complete",
  "release",
  "return",
  "void",
  "voided",
  "fail",
  "escalate",
] as const;
export type PaymentStep = (typeof paymentSteps)[number];
export type PaymentState = FlowState<PaymentStep, PaymentSubject>;

/** How a payment's row ends (or, AUTHORIZED, rests): the shell writes it with its event. */
export type PaymentSettlement =
  | { status: "AUTHORIZED" }
  | { status: "COMPLETED" }
  | { status: "FAILED" | "VOIDED" | "NEEDS_ATTENTION"; reason: string };

export type PaymentPorts = MoneyPorts<PaymentSettlement>;

export function paymentFlow(ports: PaymentPorts): FlowDefinition<PaymentStep, PaymentSubject> {
  return {
    first: "authorize",
    escalation: "escalate",
    compensation: "release",
    // Until something was taken, giving up lets the hold go; afterwards it needs a person.
    compensable: (step) => step === "authorize",
    compensatedReason: COMPENSATED_BY_OPERATOR,
    compensationStart,
    perform: (state) => perform(ports, state),
  };
}

async function perform(ports: PaymentPorts, state: PaymentState): Promise<Transition<PaymentStep>> {
  const p = state.subject;
  const running = (step: PaymentStep, reason = state.reason) => ({
    step,
    status: "RUNNING" as const,
    ...(reason !== undefined ? { reason } : {}),
  });
  const escalate = (reason: string) => ({ step: "escalate" as const, status: "RUNNING" as const, reason });
  const operate = (accountId: string, operation: AccountOperation) =>
    ports.operate(accountId, operation, p.traceparent);
  const settle = (outcome: PaymentSettlement) => ports.settle(p.id, outcome, p.traceparent);
  const holdId = `${p.id}:hold`;
  const release: AccountOperation = { kind: "release", operationId: `${p.id}:release`, holdId };
  switch (state.step) {
    case "authorize": {
      const outcome = await operate(p.payerAccountId, {
        kind: "hold",
        operationId: `${p.id}:authorize`,
        holdId,
        amount: p.amount,
        currency: p.currency,
        expiresAt: p.authorizationExpiresAt,
      });
      if (outcome.kind !== "applied") return running("fail", reasonOf(outcome));
      return running(p.orderId ? "authorized" : "capture");
    }
    case "authorized":
      await settle({ status: "AUTHORIZED" });
      return { step: "await_stock", status: "WAITING" };
    case "await_stock":
      // Only a signal moves a waiting payment on (FlowMachine.proceed); nothing runs it here.
      return { step: "await_stock", status: "WAITING" };
    case "capture": {
      const outcome = await operate(p.payerAccountId, { kind: "capture", operationId: `${p.id}:capture`, holdId });
      if (outcome.kind === "applied") return running("credit");
      const reason = reasonOf(outcome);
      // Not taken: let the payer have the money again (a hold that lapsed is gone already).
      return running("release", reason === "hold_not_found" ? "authorization_expired" : reason);
    }
    case "credit": {
      const outcome = await operate(p.merchantAccountId, {
        kind: "credit",
        operationId: `${p.id}:credit`,
        amount: p.amount,
        currency: p.currency,
        requireActive: true,
      });
      if (outcome.kind === "applied") return running("record");
      // The merchant cannot take it (frozen, closed): the captured money goes back.
      return running("return", `merchant_${reasonOf(outcome)}`);
    }
    case "return": {
      const outcome = await operate(p.payerAccountId, {
        kind: "credit",
        operationId: `${p.id}:return`,
        amount: p.amount,
        currency: p.currency,
      });
      if (outcome.kind === "applied") return running("fail");
      return escalate(`return_failed: ${reasonOf(outcome)}`);
    }
    case "record": {
      const outcome = await ports.record(
        {
          transferId: p.id,
          description: p.description,
          postings: [
            { accountId: p.payerAccountId, amount: `-${p.amount}`, currency: p.currency },
            { accountId: p.merchantAccountId, amount: p.amount, currency: p.currency },
          ],
        },
        p.traceparent,
      );
      if (outcome.kind === "applied") return running("complete");
      // The money moved and the ledger refuses the entry: a person must look.
      return escalate(`ledger_refused: ${reasonOf(outcome)}`);
    }
    case "complete":
      await settle({ status: "COMPLETED" });
      return { step: "complete", status: "COMPLETED" };
    case "release":
    case "void": {
      const outcome = await operate(p.payerAccountId, release);
      if (!released(outcome)) return escalate(`release_failed: ${reasonOf(outcome)}`);
      return running(state.step === "void" ? "voided" : "fail");
    }
    case "voided": {
      const reason = state.reason ?? "voided";
      await settle({ status: "VOIDED", reason });
      return { step: "voided", status: "FAILED", reason };
    }
    case "fail": {
      const reason = state.reason ?? "failed";
      await settle({ status: "FAILED", reason });
      return { step: "fail", status: "FAILED", reason };
    }
    case "escalate": {
      const reason = state.reason ?? "needs_attention";
      await settle({ status: "NEEDS_ATTENTION", reason });
      return { step: "escalate", status: "NEEDS_ATTENTION", reason };
    }
  }
}

/**
 * Where an operator's compensation of a payment in NEEDS_ATTENTION starts: before the capture,
 * the hold is let go; a return of captured money that was refused is tried again. Once the
 * capture may have happened and the merchant may have been credited, only finishing (retry)
 * is safe; a completed payment is given back by a refund.
 */
function compensationStart(state: PaymentState): PaymentStep | { refused: string } {
  switch (state.resumeAt) {
    case "authorize":
    case "authorized":
    case "release":
      return "release";
    case "void":
      return "void";
    case "return":
      return "return";
    default:
      return {
        refused: "The payer's money may already be with the merchant: retry the payment to finish it, then refund it.",
      };
  }
}
