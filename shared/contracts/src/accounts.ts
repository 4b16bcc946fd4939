import { isId } from "@edgebank/ids";
import { z } from "zod";
import type { ContractRefusal, RpcMethod } from "./rpc.ts";

/**
 * The accounts service's internal contract: what transfers and payments may ask of an account
 * (its AccountDO applies it), as schemas the caller, the entrypoint and the HTTP route share.
 * Amounts cross as decimal strings of minor units, as everywhere on the wire.
 */

export const accountId = z.string().refine((value) => isId("account", value), "not an account id");
export const minorUnits = z.string().regex(/^[1-9][0-9]{0,17}$/, "a positive whole number of minor units");
export const currencyCode = z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code");
/** An operation or hold id chosen by the caller: the same id is the same operation. */
export const reference = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "1 to 128 characters of [A-Za-z0-9._:-]");

export const accountOperation = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("credit"),
    operationId: reference,
    amount: minorUnits,
    currency: currencyCode,
    requireActive: z.boolean().optional().describe("refused by a frozen account (transfers; not deposits)"),
  }),
  z.object({ kind: z.literal("debit"), operationId: reference, amount: minorUnits, currency: currencyCode }),
  z.object({
    kind: z.literal("hold"),
    operationId: reference,
    holdId: reference,
    amount: minorUnits,
    currency: currencyCode,
    expiresAt: z.iso.datetime({ offset: true }).describe("when the object's alarm releases the hold"),
    ownedBy: z
      .string()
      .min(1)
      .optional()
      .describe("refused (not_owner) unless the account is a customer's, owned by this user: a transfer's check"),
  }),
  z.object({
    kind: z.literal("capture"),
    operationId: reference,
    holdId: reference,
    amount: minorUnits.optional().describe("omitted: the whole hold; a part releases the rest"),
  }),
  z.object({ kind: z.literal("release"), operationId: reference, holdId: reference }),
]);
export type AccountOperation = z.infer<typeof accountOperation>;

/** Why an account refuses an operation: stable, for callers to branch on. */
export const refusalDetails = {
  insufficient_funds: "The account's available balance does not cover the amount.",
  not_owner: "The account is not the caller's (to the caller, it does not exist).",
  account_frozen: "The account is frozen: it takes no debits, holds or captures.",
  account_closed: "The account is closed.",
  currency_mismatch: "The account holds another currency.",
  hold_not_found: "No open hold has this id (already captured, released or expired).",
  hold_exists: "A hold with this id is already open.",
  capture_exceeds_hold: "The capture is larger than the hold.",
  account_not_empty: "The account still holds money.",
  limit_below_balance: "The balance is below the new credit limit.",
} as const;
export type AccountRefusalReason = keyof typeof refusalDetails;

/** The detail of a refusal reason, for people. */
export function refusalDetail(reason: string): string {
  return (refusalDetails as Record<string, string>)[reason] ?? `Refused: ${reason}.`;
}

/** Balances after an operation (unchanged when refused), minor units as decimal strings. */
export interface Balances {
  posted: string;
  pending: string;
  available: string;
}

export type OperateResult =
  | ({ status: "applied"; operationId: string } & Balances)
  | ({ status: "refused"; operationId: string; reason: AccountRefusalReason; detail: string } & Balances)
  | { status: "not_found"; detail: string }
  /** The same operation id with other parameters: a caller's bug, never retried. */
  | { status: "conflict"; detail: string }
  | ContractRefusal;

export const accountSummary = z.object({
  id: z.string(),
  kind: z.enum(["customer", "system"]),
  ownerId: z.string(),
  currency: z.string(),
  status: z.enum(["active", "frozen", "closed"]),
  posted: z.string(),
  pending: z.string(),
  available: z.string(),
  creditLimit: z.string(),
});
export type AccountSummary = z.infer<typeof accountSummary>;

/** Posted balances in account id order, for the ledger's reconciliation. */
export type BalancesResult =
  | {
      status: "found";
      items: Array<{ id: string; currency: string; posted: string }>;
      /** The last id of this page when there may be more; null at the end. */
      next: string | null;
    }
  | ContractRefusal;

export type SummaryResult = { status: "found"; account: AccountSummary } | { status: "not_found" } | ContractRefusal;
export type SettlementResult = { status: "found"; accountId: string } | { status: "not_found" } | ContractRefusal;

/** The methods of the accounts entrypoint (`AccountsRpc`), their inputs and their callers. */
export const accountsContract = {
  operate: {
    input: z.object({
      accountId,
      operation: accountOperation,
      /** The trace of the flow asking (its W3C traceparent), which the account's event carries on. */
      traceparent: z.string().max(128).optional(),
    }),
    callers: ["transfers", "payments"],
  },
  summary: {
    input: z.object({ accountId, traceparent: z.string().max(128).optional() }),
    callers: ["transfers", "payments"],
  },
  settlementAccount: {
    input: z.object({ currency: currencyCode, traceparent: z.string().max(128).optional() }),
    callers: ["transfers"],
  },
  /** Every account's posted balance, by pages in id order (`after`), or of named accounts (`ids`). */
  balances: {
    input: z
      .object({
        after: accountId.optional(),
        ids: z.array(accountId).min(1).max(100).optional(),
        limit: z.number().int().min(1).max(1000).default(500),
        traceparent: z.string().max(128).optional(),
      })
      .refine((query) => !(query.after && query.ids), "`after` and `ids` exclude each other"),
    callers: ["ledger"],
  },
} as const satisfies Record<string, RpcMethod<z.ZodType>>;

export type OperateInput = z.input<typeof accountsContract.operate.input>;
export type SummaryInput = z.input<typeof accountsContract.summary.input>;
export type SettlementInput = z.input<typeof accountsContract.settlementAccount.input>;
export type BalancesInput = z.input<typeof accountsContract.balances.input>;

/** The accounts entrypoint as a caller's binding sees it. */
export interface AccountsService {
  operate(input: OperateInput): Promise<OperateResult>;
  summary(input: SummaryInput): Promise<SummaryResult>;
  settlementAccount(input: SettlementInput): Promise<SettlementResult>;
  balances(input: BalancesInput): Promise<BalancesResult>;
}
