import type { AccountOperation } from "@edgebank/contracts";
import type { FlowResult, StepOutcome } from "@edgebank/durable-objects/flow";

/** A balanced ledger entry, as the flows record one (keyed by the payment's or refund's id). */
export interface LedgerEntry {
  transferId: string;
  description: string;
  postings: Array<{ accountId: string; amount: string; currency: string }>;
}

/**
 * What a payment's or a refund's steps do to the world: operate on an account, record in the
 * ledger, and settle the row in the payments database (with its event). The shell binds them to
 * the accounts and ledger services and the payments repository.
 */
export interface MoneyPorts<Settlement> {
  operate(accountId: string, operation: AccountOperation, traceparent: string | undefined): Promise<StepOutcome>;
  record(entry: LedgerEntry, traceparent: string | undefined): Promise<StepOutcome>;
  /** Its answer (the shell's, if it gives one) is not used: payments' routes answer from the row. */
  settle(id: string, outcome: Settlement, traceparent: string | undefined): Promise<FlowResult | undefined | undefined>;
}

/** The stable reason a callee's answer is reported with. */
export function reasonOf(outcome: StepOutcome): string {
  if (outcome.kind === "refused") return outcome.reason;
  if (outcome.kind === "not_found") return "account_not_found";
  if (outcome.kind === "conflict") return "conflict";
  return "applied";
}

/** Released now, or gone already (expired, or never placed): nothing is held any more. */
export function released(outcome: StepOutcome): boolean {
  return outcome.kind === "applied" || (outcome.kind === "refused" && outcome.reason === "hold_not_found");
}

/** The reason a flow an operator compensated ends FAILED with. */
export const COMPENSATED_BY_OPERATOR = "compensated_by_operator";
