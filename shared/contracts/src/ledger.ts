import { z } from "zod";
import { currencyCode, reference } from "./accounts.ts";
import type { ContractRefusal, RpcMethod } from "./rpc.ts";

/**
 * The ledger's internal contract: a completed movement recorded as one balanced entry at the
 * head of the hash chain, once per movement id.
 */

const signedMinorUnits = z
  .string()
  .regex(/^-?[1-9][0-9]{0,17}$/, "a non-zero whole number of minor units, negative for a debit");

export const ledgerEntryInput = z.object({
  /** The movement's id (a transfer, a payment, a refund): an entry is recorded once per id. */
  transferId: reference,
  description: z.string().trim().min(1).max(200),
  postings: z
    .array(z.object({ accountId: reference, amount: signedMinorUnits, currency: currencyCode }))
    .min(2)
    .max(20),
});
export type LedgerEntryInput = z.input<typeof ledgerEntryInput>;

export interface LedgerEntry {
  id: string;
  sequence: string;
  transferId: string;
  description: string;
  recordedAt: string;
  previousHash: string;
  hash: string;
  postings: Array<{ accountId: string; amount: string; currency: string }>;
}

export type RecordResult =
  /** `replayed`: the same movement was recorded before, and this is that entry. */
  | { status: "applied"; entry: LedgerEntry; replayed: boolean }
  /** The postings do not make a balanced entry (fewer than two, a zero leg, a currency that does not sum to zero). */
  | { status: "refused"; reason: "unbalanced"; detail: string }
  /** The movement id is recorded with other postings. */
  | { status: "conflict"; detail: string }
  | ContractRefusal;

/** The books as a rollout's analysis checks them: the hash chain, and a reconciliation run now. */
export type AuditResult =
  | {
      status: "audited";
      chainValid: boolean;
      entries: number;
      reconciliationId: string;
      accountsChecked: number;
      mismatches: number;
    }
  | ContractRefusal;

export const ledgerContract = {
  record: {
    input: ledgerEntryInput.extend({ traceparent: z.string().max(128).optional() }),
    callers: ["transfers", "payments"],
  },
  audit: {
    /** `requestedBy` is recorded with the reconciliation (e.g. the rollout that asked). */
    input: z.object({ requestedBy: z.string().min(1).max(100), traceparent: z.string().max(128).optional() }),
    callers: ["delivery"],
  },
} as const satisfies Record<string, RpcMethod<z.ZodType>>;

export type RecordInput = z.input<typeof ledgerContract.record.input>;
export type AuditInput = z.input<typeof ledgerContract.audit.input>;

/** The ledger entrypoint (`LedgerRpc`) as a caller's binding sees it. */
export interface LedgerService {
  record(input: RecordInput): Promise<RecordResult>;
  audit(input: AuditInput): Promise<AuditResult>;
}
