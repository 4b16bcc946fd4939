import { env } from "cloudflare:workers";
import { withDatabase } from "@edgebank/db";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { call, customer, openAccount } from "./helpers.ts";

const settings = () => ({
  driver: "hyperdrive" as const,
  connectionString: env.ACCOUNTS_DB.connectionString,
  prepare: env.DB_PREPARE === "true",
});
const post = (path: string, token: string, key: string, body?: unknown) =>
  call(path, token, {
    method: "POST",
    headers: { "idempotency-key": key, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

describe("operator actions", () => {
  it("freeze stops debits at the single writer, unfreeze lets them through; each is recorded with its operator", async () => {
    const alice = await customer();
    const operator = await customer("accounts:read operator");
    const { id } = await openAccount(alice.token);
    const stub = env.ACCOUNT.get(env.ACCOUNT.idFromName(id));
    await stub.credit({ accountId: id, operationId: "in", amount: 100n });

    const frozen = await post(`/v1/accounts/${id}/freeze`, operator.token, "freeze-1");
    expect(frozen.status).toBe(200);
    expect(await frozen.json()).toMatchObject({ id, status: "frozen" });
    expect(await stub.debit({ accountId: id, operationId: "while-frozen", amount: 10n })).toMatchObject({
      status: "refused",
      reason: "account_frozen",
    });
    // A retried request with the same key is the same operation: applied once.
    expect((await post(`/v1/accounts/${id}/freeze`, operator.token, "freeze-1")).status).toBe(200);

    expect(await (await post(`/v1/accounts/${id}/unfreeze`, operator.token, "unfreeze-1")).json()).toMatchObject({
      status: "active",
    });
    expect(await stub.debit({ accountId: id, operationId: "after", amount: 10n })).toMatchObject({
      status: "applied",
      posted: "90",
    });

    const audit = await withDatabase(
      settings(),
      async (db) =>
        (await db.execute(
          sql`select operation_id, actor, details from accounts.operations where account_id = ${id} and kind = 'set_status' order by id`,
        )) as unknown as Array<{ operation_id: string; actor: string; details: { status: string } }>,
    );
    expect(audit.map((row) => [row.operation_id, row.actor, row.details.status])).toEqual([
      ["freeze-1", operator.id, "frozen"],
      ["unfreeze-1", operator.id, "active"],
    ]);
    const events = await withDatabase(
      settings(),
      async (db) =>
        (await db.execute(
          sql`select type from accounts.outbox where aggregate_id = ${id} order by id`,
        )) as unknown as Array<{ type: string }>,
    );
    expect(events.map((e) => e.type)).toEqual([
      "AccountCredited",
      "AccountFrozen",
      "AccountUnfrozen",
      "AccountDebited",
    ]);
  });

  it("closes an account only when it is empty, and for good", async () => {
    const alice = await customer();
    const operator = await customer("accounts:read operator");
    const { id } = await openAccount(alice.token);
    const stub = env.ACCOUNT.get(env.ACCOUNT.idFromName(id));
    await stub.credit({ accountId: id, operationId: "in", amount: 5n });
    const refused = await post(`/v1/accounts/${id}/close`, operator.token, "close-1");
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: "conflict", reason: "account_not_empty" });
    await stub.debit({ accountId: id, operationId: "out", amount: 5n });
    expect(await (await post(`/v1/accounts/${id}/close`, operator.token, "close-2")).json()).toMatchObject({
      status: "closed",
    });
    expect(await stub.credit({ accountId: id, operationId: "late", amount: 1n })).toMatchObject({
      reason: "account_closed",
    });
    expect((await post(`/v1/accounts/${id}/unfreeze`, operator.token, "reopen")).status).toBe(409);
  });

  it("sets a credit limit, refusing one the balance is already below", async () => {
    const alice = await customer();
    const operator = await customer("accounts:read operator");
    const { id } = await openAccount(alice.token);
    const stub = env.ACCOUNT.get(env.ACCOUNT.idFromName(id));
    expect(
      (await post(`/v1/accounts/${id}/credit-limit`, operator.token, "limit-1", { creditLimit: "10000" })).status,
    ).toBe(200);
    expect(await stub.debit({ accountId: id, operationId: "overdraft", amount: 6000n })).toMatchObject({
      status: "applied",
      available: "4000",
    });
    const tooLow = await post(`/v1/accounts/${id}/credit-limit`, operator.token, "limit-2", { creditLimit: "5000" });
    expect(tooLow.status).toBe(422);
    expect(await tooLow.json()).toMatchObject({ reason: "limit_below_balance" });
    expect(
      (await call(`/v1/accounts/${id}/balance`, alice.token).then((r) => r.json())) as Record<string, string>,
    ).toMatchObject({
      posted: "-6000",
      creditLimit: "10000",
      available: "4000",
    });
  });

  it("is for operators only: a customer cannot act even on their own account", async () => {
    const alice = await customer();
    const { id } = await openAccount(alice.token);
    for (const action of ["freeze", "unfreeze", "close"]) {
      expect((await post(`/v1/accounts/${id}/${action}`, alice.token, `k-${action}`)).status).toBe(403);
    }
    expect((await post(`/v1/accounts/${id}/credit-limit`, alice.token, "k-limit", { creditLimit: "1" })).status).toBe(
      403,
    );
  });

  it("needs an Idempotency-Key, the operation id of the action", async () => {
    const alice = await customer();
    const operator = await customer("accounts:read operator");
    const { id } = await openAccount(alice.token);
    const response = await call(`/v1/accounts/${id}/freeze`, operator.token, { method: "POST" });
    expect(response.status).toBe(400);
  });
});
