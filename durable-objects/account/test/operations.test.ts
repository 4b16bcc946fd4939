import { describe, expect, it } from "vitest";
import { type AccountState, apply, fingerprint, type Operation } from "../src/index.ts";
import { account } from "./memory-store.ts";

function run(state: AccountState, ...ops: Operation[]) {
  let current = state;
  const results = ops.map((op) => {
    const next = apply(current, op);
    current = next.state;
    return next.result;
  });
  return { state: current, results };
}

const expiresAt = Date.now() + 60_000;

describe("account operations", () => {
  it("holds reduce available but not posted; a partial capture releases the rest", () => {
    const { state, results } = run(
      account({ posted: 100n }),
      { kind: "hold", operationId: "h", holdId: "hold-1", amount: 30n, expiresAt },
      { kind: "capture", operationId: "c", holdId: "hold-1", amount: 20n },
    );
    expect(results[0]).toMatchObject({ status: "applied", posted: "100", pending: "30", available: "70" });
    expect(results[1]).toMatchObject({ status: "applied", posted: "80", pending: "0", available: "80" });
    expect(state.holds.size).toBe(0);
  });

  it("releases a hold in full, and refuses unknown, duplicate or over-captured holds", () => {
    const { results } = run(
      account({ posted: 100n }),
      { kind: "hold", operationId: "h1", holdId: "hold-1", amount: 30n, expiresAt },
      { kind: "hold", operationId: "h2", holdId: "hold-1", amount: 5n, expiresAt },
      { kind: "capture", operationId: "c1", holdId: "hold-1", amount: 31n },
      { kind: "release", operationId: "r1", holdId: "hold-1" },
      { kind: "release", operationId: "r2", holdId: "hold-1" },
    );
    expect(results.map((r) => r.reason ?? r.status)).toEqual([
      "applied",
      "hold_exists",
      "capture_exceeds_hold",
      "applied",
      "hold_not_found",
    ]);
    expect(results[3]).toMatchObject({ posted: "100", pending: "0", available: "100" });
  });

  it("never lets a customer go below its limit, but lets the settlement account go negative", () => {
    const customer = run(account({ posted: 10n, creditLimit: 5n }), { kind: "debit", operationId: "d", amount: 16n });
    expect(customer.results[0]).toMatchObject({ status: "refused", reason: "insufficient_funds", posted: "10" });
    const withinLimit = run(account({ posted: 10n, creditLimit: 5n }), {
      kind: "debit",
      operationId: "d",
      amount: 15n,
    });
    expect(withinLimit.results[0]).toMatchObject({ status: "applied", posted: "-5", available: "0" });
    const settlement = run(account({ kind: "system" }), { kind: "debit", operationId: "d", amount: 1_000n });
    expect(settlement.results[0]).toMatchObject({ status: "applied", posted: "-1000" });
  });

  it("a frozen account takes credits and releases, refuses debits, holds and captures", () => {
    const frozen = account({
      status: "frozen",
      posted: 100n,
      pending: 10n,
      holds: new Map([["hold-1", { amount: 10n, expiresAt }]]),
    });
    const { results } = run(
      frozen,
      { kind: "credit", operationId: "a", amount: 5n },
      { kind: "debit", operationId: "b", amount: 5n },
      { kind: "hold", operationId: "c", holdId: "hold-2", amount: 5n, expiresAt },
      { kind: "capture", operationId: "d", holdId: "hold-1" },
      { kind: "release", operationId: "e", holdId: "hold-1" },
    );
    expect(results.map((r) => r.reason ?? r.status)).toEqual([
      "applied",
      "account_frozen",
      "account_frozen",
      "account_frozen",
      "applied",
    ]);
  });

  it("a frozen account refuses a credit that requires an active account (a transfer's)", () => {
    const { results } = run(
      account({ status: "frozen" }),
      { kind: "credit", operationId: "t", amount: 5n, requireActive: true },
      { kind: "credit", operationId: "d", amount: 5n },
    );
    expect(results.map((r) => r.reason ?? r.status)).toEqual(["account_frozen", "applied"]);
  });

  it("a hold for a user is refused (not_owner, before anything else) unless the customer's account is theirs", () => {
    const hold = (ownedBy: string) =>
      ({
        kind: "hold",
        operationId: `h-${ownedBy}`,
        holdId: `hold-${ownedBy}`,
        amount: 10n,
        expiresAt,
        ownedBy,
      }) as const;
    expect(apply(account({ posted: 100n }), hold("usr_test")).result).toMatchObject({ status: "applied" });
    expect(apply(account({ posted: 100n }), hold("usr_other")).result).toMatchObject({ reason: "not_owner" });
    // A stranger learns nothing else: not that it is closed, frozen, short of money or in another currency.
    for (const state of [account({ status: "closed" }), account({ status: "frozen" }), account({ posted: 0n })]) {
      expect(apply(state, hold("usr_other")).result).toMatchObject({ reason: "not_owner" });
    }
    // The bank's own accounts belong to no user.
    expect(apply(account({ kind: "system", ownerId: "usr_test" }), hold("usr_test")).result).toMatchObject({
      reason: "not_owner",
    });
    // The owner is part of the fingerprint: another owner with the same id is another operation.
    expect(fingerprint(hold("usr_test"))).not.toBe(fingerprint({ ...hold("usr_test"), ownedBy: "usr_other" }));
  });

  it("a closed account refuses everything", () => {
    const { results } = run(account({ status: "closed" }), { kind: "credit", operationId: "a", amount: 5n });
    expect(results[0]).toMatchObject({ status: "refused", reason: "account_closed" });
  });

  it("refuses money in another currency, and a currency is part of the operation's fingerprint", () => {
    const { state, results } = run(
      account({ posted: 100n }),
      { kind: "credit", operationId: "a", amount: 5n, currency: "USD" },
      { kind: "debit", operationId: "b", amount: 5n, currency: "GBP" },
      { kind: "hold", operationId: "c", holdId: "h", amount: 5n, expiresAt, currency: "CHF" },
      { kind: "credit", operationId: "d", amount: 5n, currency: "EUR" },
    );
    expect(results.map((r) => r.reason ?? r.status)).toEqual([
      "currency_mismatch",
      "currency_mismatch",
      "currency_mismatch",
      "applied",
    ]);
    expect(state).toMatchObject({ posted: 105n, pending: 0n });
    expect(fingerprint({ kind: "credit", operationId: "x", amount: 5n, currency: "EUR" })).not.toBe(
      fingerprint({ kind: "credit", operationId: "x", amount: 5n }),
    );
  });
});

describe("operator actions", () => {
  it("closes only an empty account, and a closed account stays closed", () => {
    const funded = run(account({ posted: 5n }), {
      kind: "set_status",
      operationId: "x",
      status: "closed",
      actor: "usr_op",
    });
    expect(funded.results[0]).toMatchObject({ status: "refused", reason: "account_not_empty" });
    const held = run(account({ pending: 5n, creditLimit: 10n, holds: new Map([["h", { amount: 5n, expiresAt }]]) }), {
      kind: "set_status",
      operationId: "x",
      status: "closed",
      actor: "usr_op",
    });
    expect(held.results[0]).toMatchObject({ reason: "account_not_empty" });
    const empty = run(
      account(),
      { kind: "set_status", operationId: "a", status: "closed", actor: "usr_op" },
      { kind: "set_status", operationId: "b", status: "active", actor: "usr_op" },
    );
    expect(empty.results.map((r) => r.reason ?? r.status)).toEqual(["applied", "account_closed"]);
    expect(empty.state.status).toBe("closed");
  });

  it("freezes and unfreezes; lowers a credit limit only while the balance allows it", () => {
    const { state, results } = run(
      account({ posted: -50n, creditLimit: 100n }),
      { kind: "set_status", operationId: "f", status: "frozen", actor: "usr_op" },
      { kind: "set_credit_limit", operationId: "l1", creditLimit: 40n, actor: "usr_op" },
      { kind: "set_credit_limit", operationId: "l2", creditLimit: 60n, actor: "usr_op" },
      { kind: "set_status", operationId: "u", status: "active", actor: "usr_op" },
    );
    expect(results.map((r) => r.reason ?? r.status)).toEqual(["applied", "limit_below_balance", "applied", "applied"]);
    expect(state).toMatchObject({ status: "active", creditLimit: 60n });
  });
});
