import { newId } from "@edgebank/ids";
import { describe, expect, it } from "vitest";
import { accountOperation, accountsContract, admit, callerOf, refusalDetail } from "../src/index.ts";

const accountId = newId("account");
const debit = { kind: "debit", operationId: "op-1", amount: "100", currency: "EUR" };

describe("admit", () => {
  it("lets a caller on the method's allow-list through, with its input parsed", () => {
    const admitted = admit(
      accountsContract.operate,
      "accounts.operate",
      { caller: "transfers" },
      {
        accountId,
        operation: debit,
      },
    );
    expect(admitted).toEqual({ ok: true, caller: "transfers", input: { accountId, operation: debit } });
  });

  it("refuses a caller outside the allow-list, and one whose binding names none, before reading the input", () => {
    for (const props of [{ caller: "ledger" }, {}, undefined, { caller: "" }, { caller: 7 }]) {
      const admitted = admit(accountsContract.operate, "accounts.operate", props, { accountId, operation: debit });
      expect(admitted.ok).toBe(false);
      if (!admitted.ok) {
        expect(admitted.refusal).toMatchObject({ status: "forbidden", reason: "caller_not_allowed" });
        expect(admitted.refusal.detail).toContain("accounts.operate");
      }
    }
    // Payments may operate on accounts but not ask for settlement accounts.
    expect(admit(accountsContract.settlementAccount, "s", { caller: "payments" }, { currency: "EUR" }).ok).toBe(false);
    expect(admit(accountsContract.settlementAccount, "s", { caller: "transfers" }, { currency: "EUR" }).ok).toBe(true);
  });

  it("refuses invalid input with the paths at fault, never the values", () => {
    const admitted = admit(
      accountsContract.operate,
      "accounts.operate",
      { caller: "payments" },
      {
        accountId: "acc_not-an-id",
        operation: { ...debit, amount: "-5" },
      },
    );
    expect(admitted.ok).toBe(false);
    if (!admitted.ok) {
      expect(admitted.refusal.status).toBe("invalid");
      expect(admitted.refusal.detail).toContain("accountId");
      expect(admitted.refusal.detail).toContain("operation.amount");
      expect(admitted.refusal.detail).not.toContain("-5");
    }
  });
});

describe("the account operation contract", () => {
  it("takes every kind with its own fields and nothing else", () => {
    const expiresAt = "2026-12-02T12:00:00Z";
    for (const operation of [
      { kind: "credit", operationId: "c", amount: "1", currency: "EUR", requireActive: true },
      debit,
      { kind: "hold", operationId: "h", holdId: "hold-1", amount: "5", currency: "EUR", expiresAt },
      { kind: "capture", operationId: "k", holdId: "hold-1" },
      { kind: "capture", operationId: "k", holdId: "hold-1", amount: "2" },
      { kind: "release", operationId: "r", holdId: "hold-1" },
    ]) {
      expect(accountOperation.parse(operation)).toEqual(operation);
    }
    for (const operation of [
      { ...debit, amount: "0" },
      { ...debit, amount: "1.5" },
      { ...debit, currency: "eur" },
      { kind: "hold", operationId: "h", holdId: "x", amount: "5", currency: "EUR" },
      { kind: "transfer", operationId: "t" },
      { ...debit, operationId: "has space" },
    ]) {
      expect(accountOperation.safeParse(operation).success).toBe(false);
    }
  });

  it("names every refusal reason for people, and an unknown one plainly", () => {
    expect(refusalDetail("insufficient_funds")).toMatch(/available balance/);
    expect(refusalDetail("something_new")).toBe("Refused: something_new.");
  });

  it("reads the caller from a binding's props only when it is a name", () => {
    expect(callerOf({ caller: "transfers" })).toBe("transfers");
    expect(callerOf({ caller: "" })).toBeUndefined();
    expect(callerOf(undefined)).toBeUndefined();
  });
});
