import { bindingWith, defineConfig } from "@edgebank/config";
import type {
  AccountOperation,
  AccountSummary,
  AccountsService,
  LedgerEntryInput,
  LedgerService,
} from "@edgebank/contracts";
import { AppError } from "@edgebank/errors";
import { z } from "zod";
import { callRpc, traceOf } from "./rpc-client.ts";
import { TransientFailure } from "./transient.ts";

/**
 * The money-moving services' calls to accounts and ledger (transfers, payments), over Workers
 * RPC to their entrypoints; each binding names its caller in its props, which the callee checks
 * against each method's allow-list. Every answer is sorted into what the caller must do with it:
 * a final outcome (applied, refused for a stated reason, not found, a conflict that needs a
 * human), or a TransientFailure (thrown) to retry later with the same operation id.
 */
const bindings = defineConfig(
  z.object({
    ACCOUNTS: bindingWith("fetch").transform((binding) => binding as unknown as AccountsService),
    LEDGER: bindingWith("fetch").transform((binding) => binding as unknown as LedgerService),
  }),
);

export { TransientFailure };

export type Outcome =
  | { kind: "applied"; body: Record<string, unknown> }
  | { kind: "refused"; reason: string; detail: string }
  | { kind: "not_found" }
  | { kind: "conflict"; detail: string };

export type { AccountOperation, AccountSummary };

/**
 * One operation on an account, over the accounts entrypoint. `traceparent`: the trace of the
 * request or saga asking for it, which the account's event continues.
 */
export async function operateAccount(
  env: object,
  accountId: string,
  operation: AccountOperation,
  traceparent?: string,
): Promise<Outcome> {
  const result = await callRpc("accounts", "operate", (parent) =>
    bindings(env).ACCOUNTS.operate({ accountId, operation, ...traceOf(parent ?? traceparent) }),
  );
  switch (result.status) {
    case "applied":
      return {
        kind: "applied",
        body: {
          operationId: result.operationId,
          posted: result.posted,
          pending: result.pending,
          available: result.available,
        },
      };
    case "refused":
      return { kind: "refused", reason: result.reason, detail: result.detail };
    case "not_found":
      return { kind: "not_found" };
    default:
      // An operation id reused with other parameters, or a call the contract refused: a bug or a
      // misconfigured binding, for a person to look at; retrying would get the same answer.
      return { kind: "conflict", detail: result.detail };
  }
}

/** An account's owner, currency, status and balances; undefined when there is no such account. */
export async function accountSummary(env: object, accountId: string): Promise<AccountSummary | undefined> {
  const result = await callRpc("accounts", "summary", (parent) =>
    bindings(env).ACCOUNTS.summary({ accountId, ...traceOf(parent) }),
  );
  if (result.status === "found") return result.account;
  if (result.status === "not_found" || result.status === "invalid") return undefined;
  throw new AppError("internal", `The accounts service refused the call: ${result.detail}`);
}

/** The external settlement account of a currency; undefined when the bank holds none. */
export async function settlementAccount(env: object, currency: string): Promise<string | undefined> {
  const result = await callRpc("accounts", "settlementAccount", (parent) =>
    bindings(env).ACCOUNTS.settlementAccount({ currency, ...traceOf(parent) }),
  );
  if (result.status === "found") return result.accountId;
  if (result.status === "not_found") return undefined;
  throw new AppError("internal", `The accounts service refused the call: ${result.detail}`);
}

export type { LedgerEntryInput };

/** Records the movement in the ledger (idempotent by its id). */
export async function recordInLedger(env: object, entry: LedgerEntryInput): Promise<Outcome> {
  const result = await callRpc("ledger", "record", (traceparent) =>
    bindings(env).LEDGER.record({ ...entry, ...traceOf(traceparent) }),
  );
  switch (result.status) {
    case "applied":
      return { kind: "applied", body: { ...result.entry } };
    case "refused":
      return { kind: "refused", reason: result.reason, detail: result.detail };
    default:
      // The movement id recorded with other postings, or a call the contract refused.
      return { kind: "conflict", detail: result.detail };
  }
}
