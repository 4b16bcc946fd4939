import type { AccountOperation, AccountSummary, BalancesResult, OperateResult } from "@edgebank/contracts";
import { refusalDetail } from "@edgebank/contracts";
import { type Database, withDatabase } from "@edgebank/db";
import type { OperationResult } from "@edgebank/durable-objects/account";
import { isAppError } from "@edgebank/errors";
import { postedBalances } from "../repo/balances.ts";
import { findSettlementAccount } from "../repo/settlement-accounts.ts";
import { accountObjects, serviceSettings } from "../service.ts";

/**
 * What other services may ask of an account, for the RPC entrypoint and the HTTP command route
 * alike: each runs in the account's AccountDO, and each answer is the contract's result. What the
 * account itself answers (applied, refused, no such account, an operation id reused with other
 * parameters) is a value; anything else is thrown, and the same operation may be retried.
 */

/** Runs one operation on its account. `traceparent`: the flow's trace, which the account's event continues. */
export async function operate(
  env: object,
  accountId: string,
  operation: AccountOperation,
  traceparent?: string,
): Promise<OperateResult> {
  const objects = accountObjects(env);
  const stub = objects.get(objects.idFromName(accountId));
  const base = { accountId, operationId: operation.operationId, ...(traceparent ? { traceparent } : {}) };
  let outcome: OperationResult;
  try {
    switch (operation.kind) {
      case "credit":
        outcome = await stub.credit({
          ...base,
          amount: BigInt(operation.amount),
          currency: operation.currency,
          ...(operation.requireActive ? { requireActive: true } : {}),
        });
        break;
      case "debit":
        outcome = await stub.debit({ ...base, amount: BigInt(operation.amount), currency: operation.currency });
        break;
      case "hold":
        outcome = await stub.hold({
          ...base,
          holdId: operation.holdId,
          amount: BigInt(operation.amount),
          currency: operation.currency,
          expiresAt: Date.parse(operation.expiresAt),
          ...(operation.ownedBy !== undefined ? { ownedBy: operation.ownedBy } : {}),
        });
        break;
      case "capture":
        outcome = await stub.capture({
          ...base,
          holdId: operation.holdId,
          ...(operation.amount !== undefined ? { amount: BigInt(operation.amount) } : {}),
        });
        break;
      case "release":
        outcome = await stub.release({ ...base, holdId: operation.holdId });
        break;
    }
  } catch (error) {
    const answer = accountAnswer(error);
    if (answer) return answer;
    throw error;
  }
  const balances = { posted: outcome.posted, pending: outcome.pending, available: outcome.available };
  if (outcome.status === "refused") {
    const reason = outcome.reason ?? "insufficient_funds";
    return { status: "refused", operationId: outcome.operationId, reason, detail: refusalDetail(reason), ...balances };
  }
  return { status: "applied", operationId: outcome.operationId, ...balances };
}

/** An account's identity, status and balances, from its AccountDO's memory; undefined when there is none. */
export async function summaryOf(env: object, accountId: string): Promise<AccountSummary | undefined> {
  const objects = accountObjects(env);
  try {
    return await objects.get(objects.idFromName(accountId)).summary(accountId);
  } catch (error) {
    if (isAppError(error) && error.code === "not_found") return undefined;
    throw error;
  }
}

/** Settlement accounts found, per isolate: the bank opens one per currency and never moves it. */
const settlement = new Map<string, string>();

/** The external settlement account of a currency (counterpart of deposits and withdrawals), if the bank holds one. */
export async function settlementAccountOf(
  env: object,
  currency: string,
  db?: () => Database,
): Promise<string | undefined> {
  const known = settlement.get(currency);
  if (known) return known;
  const found = db
    ? await findSettlementAccount(db(), currency)
    : await withDatabase(serviceSettings(env), (database) => findSettlementAccount(database, currency));
  if (found) settlement.set(currency, found);
  return found;
}

/** A page of posted balances in id order (or the named accounts'), for the ledger's reconciliation. */
export async function balancesOf(
  env: object,
  query: { after?: string | undefined; ids?: string[] | undefined; limit: number },
): Promise<BalancesResult> {
  const items = await withDatabase(serviceSettings(env), (db) => postedBalances(db, query));
  const next = !query.ids && items.length === query.limit ? (items.at(-1)?.id ?? null) : null;
  return { status: "found", items, next };
}

/** The account's own answers, which cross as values; undefined for anything else. */
function accountAnswer(error: unknown): OperateResult | undefined {
  if (!isAppError(error)) return undefined;
  switch (error.code) {
    case "not_found":
      return { status: "not_found", detail: error.message };
    case "conflict":
      return { status: "conflict", detail: error.message };
    case "validation_failed":
    case "bad_request":
      return { status: "invalid", reason: "invalid_input", detail: error.message };
    default:
      return undefined;
  }
}
