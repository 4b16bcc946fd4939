/**
 * The rules of one account, as pure functions: what an operation does to the account's state
 * and what its caller is told. No I/O here; the AccountDO serializes calls and persists.
 */

export interface Hold {
  amount: bigint;
  /** Epoch milliseconds after which the hold is released by the object's alarm. */
  expiresAt: number;
}

export interface AccountState {
  accountId: string;
  kind: "customer" | "system";
  /** ISO 4217; every money operation that names a currency must name this one. */
  currency: string;
  /** The customer who owns the account; system accounts belong to the bank. */
  ownerId: string;
  status: "active" | "frozen" | "closed";
  posted: bigint;
  /** Sum of open holds. */
  pending: bigint;
  creditLimit: bigint;
  holds: ReadonlyMap<string, Hold>;
  /** Incremented by every committed batch; the store guards its writes with it. */
  version: bigint;
}

/**
 * What every operation may carry besides its parameters: the W3C traceparent of the request
 * that asked for it, written on its event so consumers continue the trace. Not part of the
 * fingerprint: a retry from another trace is the same operation.
 */
interface Traced {
  traceparent?: string;
}

export type Operation = Traced &
  /** Money operations may name their currency; a different one than the account's is refused. */
  /** `requireActive`: a transfer's credit, refused by a frozen account (a deposit is not). */
  (
    | { kind: "credit"; operationId: string; amount: bigint; currency?: string; requireActive?: boolean }
    | { kind: "debit"; operationId: string; amount: bigint; currency?: string }
    | {
        kind: "hold";
        operationId: string;
        holdId: string;
        amount: bigint;
        expiresAt: number;
        currency?: string;
        /** Refused (`not_owner`) unless the account is a customer's, owned by this user. */
        ownedBy?: string;
      }
    | { kind: "capture"; operationId: string; holdId: string; amount?: bigint }
    | { kind: "release"; operationId: string; holdId: string }
    /** Operator actions: serialized with the money, so no debit slips past a freeze. */
    | { kind: "set_status"; operationId: string; status: "active" | "frozen" | "closed"; actor: string }
    | { kind: "set_credit_limit"; operationId: string; creditLimit: bigint; actor: string }
  );

export type RefusalReason =
  | "not_owner"
  | "currency_mismatch"
  | "insufficient_funds"
  | "account_frozen"
  | "account_closed"
  | "hold_not_found"
  | "hold_exists"
  | "capture_exceeds_hold"
  | "account_not_empty"
  | "limit_below_balance";

export interface OperationResult {
  operationId: string;
  status: "applied" | "refused";
  reason?: RefusalReason;
  /** Balances after the operation (unchanged when refused), minor units as decimal strings. */
  posted: string;
  pending: string;
  available: string;
}

function currencySuffix(currency: string | undefined): string {
  return currency === undefined ? "" : `:${currency}`;
}

export function available(state: AccountState): bigint {
  return state.posted - state.pending + state.creditLimit;
}

/**
 * A stable description of an operation's parameters: the same operation id with a different
 * fingerprint is a client bug, never a retry.
 */
export function fingerprint(op: Operation): string {
  switch (op.kind) {
    case "credit":
      return `credit:${op.amount}${currencySuffix(op.currency)}${op.requireActive ? ":active" : ""}`;
    case "debit":
      return `debit:${op.amount}${currencySuffix(op.currency)}`;
    case "hold":
      return `hold:${op.holdId}:${op.amount}:${op.expiresAt}${currencySuffix(op.currency)}${op.ownedBy === undefined ? "" : `:owner=${op.ownedBy}`}`;
    case "capture":
      return `capture:${op.holdId}:${op.amount ?? "all"}`;
    case "release":
      return `release:${op.holdId}`;
    case "set_status":
      return `set_status:${op.status}`;
    case "set_credit_limit":
      return `set_credit_limit:${op.creditLimit}`;
  }
}

function result(state: AccountState, op: Operation, reason?: RefusalReason): OperationResult {
  return {
    operationId: op.operationId,
    status: reason ? "refused" : "applied",
    ...(reason ? { reason } : {}),
    posted: state.posted.toString(),
    pending: state.pending.toString(),
    available: available(state).toString(),
  };
}

/** Whether taking `amount` keeps the account within its limit (system accounts have none). */
function covers(state: AccountState, amount: bigint): boolean {
  return state.kind === "system" || available(state) >= amount;
}

/**
 * Applies one operation. A frozen account still receives credits and releases holds (money
 * may come in and reservations may end) but refuses debits, new holds and captures; a closed
 * account refuses everything. Refusals leave the state untouched.
 */
export function apply(state: AccountState, op: Operation): { state: AccountState; result: OperationResult } {
  const refuse = (reason: RefusalReason) => ({ state, result: result(state, op, reason) });
  const accept = (next: AccountState) => ({ state: next, result: result(next, op) });
  // First, so that a stranger learns nothing else about the account (not even that it is closed).
  if (op.kind === "hold" && op.ownedBy !== undefined && (state.kind !== "customer" || state.ownerId !== op.ownedBy)) {
    return refuse("not_owner");
  }
  if (state.status === "closed") return refuse("account_closed"); // closing is final
  const outgoing =
    op.kind === "debit" || op.kind === "hold" || op.kind === "capture" || (op.kind === "credit" && op.requireActive);
  if (state.status === "frozen" && outgoing) return refuse("account_frozen");
  if ("currency" in op && op.currency !== undefined && op.currency !== state.currency)
    return refuse("currency_mismatch");

  switch (op.kind) {
    case "credit":
      return accept({ ...state, posted: state.posted + op.amount });
    case "debit":
      if (!covers(state, op.amount)) return refuse("insufficient_funds");
      return accept({ ...state, posted: state.posted - op.amount });
    case "hold": {
      if (state.holds.has(op.holdId)) return refuse("hold_exists");
      if (!covers(state, op.amount)) return refuse("insufficient_funds");
      const holds = new Map(state.holds).set(op.holdId, { amount: op.amount, expiresAt: op.expiresAt });
      return accept({ ...state, pending: state.pending + op.amount, holds });
    }
    case "capture": {
      const hold = state.holds.get(op.holdId);
      if (!hold) return refuse("hold_not_found");
      const amount = op.amount ?? hold.amount;
      if (amount > hold.amount) return refuse("capture_exceeds_hold");
      // The captured part leaves the account; the rest of the hold is released.
      const holds = new Map(state.holds);
      holds.delete(op.holdId);
      return accept({ ...state, posted: state.posted - amount, pending: state.pending - hold.amount, holds });
    }
    case "release": {
      const hold = state.holds.get(op.holdId);
      if (!hold) return refuse("hold_not_found");
      const holds = new Map(state.holds);
      holds.delete(op.holdId);
      return accept({ ...state, pending: state.pending - hold.amount, holds });
    }
    case "set_status":
      // An account closes only empty: nothing posted, nothing held.
      if (op.status === "closed" && (state.posted !== 0n || state.holds.size > 0)) return refuse("account_not_empty");
      return accept({ ...state, status: op.status });
    case "set_credit_limit":
      if (state.kind === "customer" && state.posted - state.pending + op.creditLimit < 0n)
        return refuse("limit_below_balance");
      return accept({ ...state, creditLimit: op.creditLimit });
  }
}
