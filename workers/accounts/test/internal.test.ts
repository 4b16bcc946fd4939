import { env } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import { newId } from "@edgebank/ids";
import { describe, expect, it } from "vitest";
import { call, customer, openAccount } from "./helpers.ts";

/** A machine client of another service (transfers, payments): the only holder of accounts:operate. */
const service = () => testCaller(env, "accounts:operate", "client");

function operate(id: string, token: string, body: Record<string, unknown>) {
  return call(`/internal/v1/accounts/${id}/operations`, token, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

const later = () => new Date(Date.now() + 60_000).toISOString();

describe("internal command API (service scope accounts:operate)", () => {
  it("credits, debits, holds and captures through the single writer, each answered after commit", async () => {
    const owner = await customer();
    const { token } = await service();
    const { id } = await openAccount(owner.token, "EUR");

    const credit = await operate(id, token, { kind: "credit", operationId: "in-1", amount: "1000", currency: "EUR" });
    expect(credit.status).toBe(200);
    expect(await credit.json()).toEqual({
      operationId: "in-1",
      status: "applied",
      posted: "1000",
      pending: "0",
      available: "1000",
    });
    const hold = await operate(id, token, {
      kind: "hold",
      operationId: "hold-1",
      holdId: "h-1",
      amount: "300",
      currency: "EUR",
      expiresAt: later(),
    });
    expect(await hold.json()).toMatchObject({ posted: "1000", pending: "300", available: "700" });
    const capture = await operate(id, token, { kind: "capture", operationId: "cap-1", holdId: "h-1", amount: "200" });
    expect(await capture.json()).toMatchObject({ posted: "800", pending: "0", available: "800" });
    const debit = await operate(id, token, { kind: "debit", operationId: "out-1", amount: "50", currency: "EUR" });
    expect(await debit.json()).toMatchObject({ posted: "750", available: "750" });

    const summary = await call(`/internal/v1/accounts/${id}`, token);
    expect(summary.status).toBe(200);
    expect(await summary.json()).toEqual({
      id,
      kind: "customer",
      ownerId: owner.id,
      currency: "EUR",
      status: "active",
      posted: "750",
      pending: "0",
      available: "750",
      creditLimit: "0",
    });
    // The public balance (read by the owner) agrees with what the service was told.
    const balance = await call(`/v1/accounts/${id}/balance`, owner.token);
    expect(await balance.json()).toMatchObject({ posted: "750", available: "750" });
  });

  it("refusals are 422 problems with a stable reason, and change nothing", async () => {
    const owner = await customer();
    const { token } = await service();
    const { id } = await openAccount(owner.token, "EUR");
    await operate(id, token, { kind: "credit", operationId: "in", amount: "100", currency: "EUR" });

    const cases = [
      [{ kind: "debit", operationId: "too-much", amount: "101", currency: "EUR" }, "insufficient_funds"],
      [{ kind: "credit", operationId: "wrong-ccy", amount: "5", currency: "USD" }, "currency_mismatch"],
      [
        { kind: "hold", operationId: "h-ccy", holdId: "h", amount: "5", currency: "GBP", expiresAt: later() },
        "currency_mismatch",
      ],
      [{ kind: "release", operationId: "no-hold", holdId: "missing" }, "hold_not_found"],
      [{ kind: "capture", operationId: "no-hold-2", holdId: "missing" }, "hold_not_found"],
    ] as const;
    for (const [body, reason] of cases) {
      const response = await operate(id, token, body);
      expect(response.status, reason).toBe(422);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      expect(await response.json()).toMatchObject({
        status: 422,
        reason,
        operationId: body.operationId,
        posted: "100",
      });
    }
    const summary = (await (await call(`/internal/v1/accounts/${id}`, token)).json()) as Record<string, string>;
    expect(summary).toMatchObject({ posted: "100", pending: "0", available: "100" });
  });

  it("an operation id answers the same every time; reused with other parameters it is a 409", async () => {
    const owner = await customer();
    const { token } = await service();
    const { id } = await openAccount(owner.token, "EUR");
    await operate(id, token, { kind: "credit", operationId: "in", amount: "10", currency: "EUR" });

    const body = { kind: "debit", operationId: "once", amount: "4", currency: "EUR" };
    const answers = await Promise.all(Array.from({ length: 20 }, () => operate(id, token, body)));
    const texts = await Promise.all(answers.map((response) => response.text()));
    expect(new Set(answers.map((response) => response.status))).toEqual(new Set([200]));
    expect(new Set(texts).size).toBe(1);
    expect(JSON.parse(texts[0] ?? "{}")).toMatchObject({ posted: "6" });

    const reused = await operate(id, token, { ...body, amount: "5" });
    expect(reused.status).toBe(409);
    expect(await (await call(`/internal/v1/accounts/${id}`, token)).json()).toMatchObject({ posted: "6" });
  });

  it("only the service scope gets in; a customer token cannot move money here, even on its own account", async () => {
    const owner = await customer();
    const { id } = await openAccount(owner.token, "EUR");
    const body = { kind: "credit", operationId: "free-money", amount: "1000000", currency: "EUR" };
    expect((await operate(id, owner.token, body)).status).toBe(403);
    expect((await call(`/internal/v1/accounts/${id}`, owner.token)).status).toBe(403);
    expect((await operate(id, "", body)).status).toBe(401);
    const balance = await call(`/v1/accounts/${id}/balance`, owner.token);
    expect(await balance.json()).toMatchObject({ posted: "0" });
  });

  it("rejects malformed commands with 400 and unknown accounts with 404", async () => {
    const { token } = await service();
    const owner = await customer();
    const { id } = await openAccount(owner.token, "EUR");
    for (const body of [
      { kind: "credit", operationId: "x", amount: "0", currency: "EUR" },
      { kind: "credit", operationId: "x", amount: "1.5", currency: "EUR" },
      { kind: "credit", operationId: "x", amount: 5, currency: "EUR" },
      { kind: "debit", operationId: "x", amount: "5" },
      { kind: "hold", operationId: "x", holdId: "h", amount: "5", currency: "EUR", expiresAt: "tomorrow" },
      { kind: "transfer", operationId: "x", amount: "5", currency: "EUR" },
      { kind: "credit", operationId: "has spaces", amount: "5", currency: "EUR" },
    ]) {
      const response = await operate(id, token, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await call("/internal/v1/accounts/not-an-account", token)).status).toBe(400);
    const missing = newId("account");
    expect((await call(`/internal/v1/accounts/${missing}`, token)).status).toBe(404);
    const credit = { kind: "credit", operationId: "x", amount: "5", currency: "EUR" };
    expect((await operate(missing, token, credit)).status).toBe(404);
    // Nothing was applied to the real account by any of the above.
    expect(await (await call(`/internal/v1/accounts/${id}`, token)).json()).toMatchObject({ posted: "0" });
  });
});
