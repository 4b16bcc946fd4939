import { env } from "cloudflare:workers";
import type { AccountsService } from "@edgebank/contracts";
import { newId } from "@edgebank/ids";
import { describe, expect, it } from "vitest";
import { call, customer, openAccount } from "./helpers.ts";

/**
 * The accounts entrypoint as other Workers reach it: through a service binding to AccountsRpc
 * whose props name the caller (test-only bindings, as transfers, payments and the ledger bind it).
 */
const asTransfers = env.RPC_AS_TRANSFERS as unknown as AccountsService;
const asPayments = env.RPC_AS_PAYMENTS as unknown as AccountsService;
const asLedger = env.RPC_AS_LEDGER as unknown as AccountsService;
const anonymous = env.RPC_WITHOUT_CALLER as unknown as AccountsService;

const later = () => new Date(Date.now() + 60_000).toISOString();

async function fundedAccount(amount = "1000") {
  const owner = await customer();
  const { id } = await openAccount(owner.token, "EUR");
  const funded = await asTransfers.operate({
    accountId: id,
    operation: { kind: "credit", operationId: `fund-${id}`, amount, currency: "EUR" },
  });
  expect(funded).toMatchObject({ status: "applied", posted: amount });
  return { owner, id };
}

async function balanceOf(id: string, token: string) {
  return (await (await call(`/v1/accounts/${id}/balance`, token)).json()) as Record<string, string>;
}

describe("AccountsRpc (Workers RPC, caller named by its binding)", () => {
  it("holds, captures and debits for an allowed caller, each answered after commit", async () => {
    const { owner, id } = await fundedAccount();
    const hold = await asTransfers.operate({
      accountId: id,
      operation: {
        kind: "hold",
        operationId: "h-op",
        holdId: "h-1",
        amount: "300",
        currency: "EUR",
        expiresAt: later(),
      },
    });
    expect(hold).toEqual({ status: "applied", operationId: "h-op", posted: "1000", pending: "300", available: "700" });
    const capture = await asPayments.operate({
      accountId: id,
      operation: { kind: "capture", operationId: "c-op", holdId: "h-1", amount: "200" },
    });
    expect(capture).toMatchObject({ status: "applied", posted: "800", pending: "0", available: "800" });
    // The same operation id again is the same answer, applied once.
    const again = await asTransfers.operate({
      accountId: id,
      operation: { kind: "capture", operationId: "c-op", holdId: "h-1", amount: "200" },
    });
    expect(again).toEqual(capture);
    expect(await balanceOf(id, owner.token)).toMatchObject({ posted: "800", pending: "0" });

    expect(await asTransfers.summary({ accountId: id })).toEqual({
      status: "found",
      account: {
        id,
        kind: "customer",
        ownerId: owner.id,
        currency: "EUR",
        status: "active",
        posted: "800",
        pending: "0",
        available: "800",
        creditLimit: "0",
      },
    });
  });

  it("answers refusals, a reused operation id and a missing account as results that change nothing", async () => {
    const { owner, id } = await fundedAccount("100");
    expect(
      await asTransfers.operate({
        accountId: id,
        operation: { kind: "debit", operationId: "too-much", amount: "101", currency: "EUR" },
      }),
    ).toMatchObject({ status: "refused", reason: "insufficient_funds", posted: "100", available: "100" });
    expect(
      await asTransfers.operate({
        accountId: id,
        operation: { kind: "credit", operationId: "ccy", amount: "5", currency: "USD" },
      }),
    ).toMatchObject({ status: "refused", reason: "currency_mismatch" });

    const first = await asTransfers.operate({
      accountId: id,
      operation: { kind: "debit", operationId: "d-1", amount: "10", currency: "EUR" },
    });
    expect(first).toMatchObject({ status: "applied", posted: "90" });
    const reused = await asTransfers.operate({
      accountId: id,
      operation: { kind: "debit", operationId: "d-1", amount: "11", currency: "EUR" },
    });
    expect(reused.status).toBe("conflict");

    const missing = newId("account");
    expect(
      await asTransfers.operate({
        accountId: missing,
        operation: { kind: "credit", operationId: "x", amount: "1", currency: "EUR" },
      }),
    ).toMatchObject({ status: "not_found" });
    expect(await asTransfers.summary({ accountId: missing })).toEqual({ status: "not_found" });
    expect(await balanceOf(id, owner.token)).toMatchObject({ posted: "90", pending: "0" });
  });

  it("refuses a caller outside a method's allow-list, and a binding that names none, and runs nothing", async () => {
    const { owner, id } = await fundedAccount("100");
    const debit = { kind: "debit", operationId: `steal-${id}`, amount: "100", currency: "EUR" } as const;
    for (const stranger of [asLedger, anonymous]) {
      expect(await stranger.operate({ accountId: id, operation: debit })).toMatchObject({
        status: "forbidden",
        reason: "caller_not_allowed",
      });
      expect(await stranger.summary({ accountId: id })).toMatchObject({ status: "forbidden" });
    }
    // Payments may operate on accounts, but the settlement accounts are the transfers' business.
    expect(await asPayments.settlementAccount({ currency: "EUR" })).toMatchObject({ status: "forbidden" });
    expect(await balanceOf(id, owner.token)).toMatchObject({ posted: "100", available: "100" });
    // The refused operation id was never used: an allowed caller can still apply it.
    expect(await asTransfers.operate({ accountId: id, operation: debit })).toMatchObject({ status: "applied" });
  });

  it("refuses input that breaks the contract, naming the fields at fault", async () => {
    const { owner, id } = await fundedAccount("100");
    const invalid = await asTransfers.operate({
      accountId: id,
      operation: { kind: "debit", operationId: "neg", amount: "-100", currency: "EUR" },
    });
    expect(invalid).toMatchObject({ status: "invalid", reason: "invalid_input" });
    if (invalid.status === "invalid") expect(invalid.detail).toContain("operation.amount");
    const noAccount = await asTransfers.summary({ accountId: "acc_nope" });
    expect(noAccount).toMatchObject({ status: "invalid" });
    expect(await balanceOf(id, owner.token)).toMatchObject({ posted: "100" });
  });

  it("names the settlement account of a currency the bank holds, and none for one it does not", async () => {
    const found = await asTransfers.settlementAccount({ currency: "EUR" });
    expect(found.status).toBe("found");
    if (found.status === "found") expect(found.accountId).toMatch(/^acc_/);
    expect(await asTransfers.settlementAccount({ currency: "XTS" })).toEqual({ status: "not_found" });
  });

  it("pages posted balances in id order for the ledger, or answers for named accounts", async () => {
    const owner = await customer();
    // Ids are time-ordered: paging from one made just before starts at the accounts opened here.
    const before = newId("account");
    const opened: Array<{ id: string; currency: string; posted: string }> = [];
    for (const [currency, amount] of [
      ["EUR", "120"],
      ["GBP", "7"],
      ["EUR", "0"],
    ] as const) {
      const { id } = await openAccount(owner.token, currency);
      if (amount !== "0") {
        await asTransfers.operate({
          accountId: id,
          operation: { kind: "credit", operationId: "in", amount, currency },
        });
      }
      opened.push({ id, currency, posted: amount });
    }
    const byId = [...opened].sort((a, b) => a.id.localeCompare(b.id));
    expect(await asLedger.balances({ ids: opened.map((a) => a.id) })).toEqual({
      status: "found",
      items: byId,
      next: null,
    });

    const seen: Array<{ id: string; currency: string; posted: string }> = [];
    let after: string | null = before;
    for (let page = 0; after && page < 1000; page++) {
      const result = await asLedger.balances({ after, limit: 2 });
      if (result.status !== "found") throw new Error(result.detail);
      expect(result.items.length).toBeLessThanOrEqual(2);
      seen.push(...result.items);
      after = result.next;
    }
    const ids = seen.map((item) => item.id);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    for (const account of opened) expect(seen).toContainEqual(account);
  });

  it("keeps balances to the ledger, and refuses queries the contract does not allow", async () => {
    const { id } = await fundedAccount("5");
    for (const caller of [asTransfers, asPayments, anonymous]) {
      expect(await caller.balances({ ids: [id] })).toMatchObject({ status: "forbidden" });
    }
    for (const query of [
      { limit: 0 },
      { limit: 1001 },
      { after: "nope" },
      { ids: ["acc_1"] },
      { ids: [] },
      { after: newId("account"), ids: [newId("account")] },
    ]) {
      expect(await asLedger.balances(query), JSON.stringify(query)).toMatchObject({ status: "invalid" });
    }
  });
});
