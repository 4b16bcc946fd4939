import { env, exports } from "cloudflare:workers";
import type { Principal } from "@edgebank/auth";
import { testCaller } from "@edgebank/auth/testing";
import { type Database, withDatabase } from "@edgebank/db";
import { isAppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { merchants, payments, refunds } from "../src/db/schema.ts";
import { beginRefund } from "../src/domain/refunds.ts";

/**
 * The payments service in workerd against its real database. Accounts and ledger are
 * unavailable here (the whole flow runs in test/e2e/payments.e2e.test.ts); these tests hold the
 * rules that need only this service: validation, who may do what, and that refunds together
 * never exceed the payment, whatever their timing.
 */
const settings = () => ({
  driver: "hyperdrive" as const,
  connectionString: env.PAYMENTS_DB.connectionString,
  prepare: env.DB_PREPARE === "true",
});
const inDatabase = <T>(work: (db: Database) => Promise<T>) => withDatabase(settings(), work);

const call = (path: string, token: string, init: RequestInit & { key?: string } = {}) => {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  if (init.body) headers.set("content-type", "application/json");
  if (init.key) headers.set("idempotency-key", init.key);
  return exports.default.fetch(new Request(`http://payments.internal${path}`, { ...init, headers }));
};

const principal = (subject: string, scopes: string[] = []): Principal => ({
  subject,
  kind: "user",
  scopes: new Set(scopes),
  clientId: "edgebank-app",
  tokenId: crypto.randomUUID(),
  token: "",
});

/** A merchant and a completed payment of `amount`, written as the service would have. */
async function completedPayment(amount: bigint) {
  const owner = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
  const payer = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
  const merchantId = newId("merchant");
  const paymentId = newId("payment");
  const merchantAccountId = newId("account");
  await inDatabase(async (db) => {
    await db
      .insert(merchants)
      .values({ id: merchantId, ownerId: owner, name: "Shop", accountId: merchantAccountId, currency: "EUR" });
    await db.insert(payments).values({
      id: paymentId,
      payerId: payer,
      payerAccountId: newId("account"),
      merchantId,
      merchantOwnerId: owner,
      merchantAccountId,
      amount,
      currency: "EUR",
      reference: "order",
      status: "COMPLETED",
      step: "done",
    });
  });
  return { owner, payer, paymentId };
}

describe("POST /v1/payments", () => {
  it("needs an Idempotency-Key and a valid body; an unknown merchant is a 404", async () => {
    const customer = await testCaller(env, "payments:read payments:write");
    const body = {
      fromAccountId: newId("account"),
      merchantId: newId("merchant"),
      amount: "100",
      currency: "EUR",
      reference: "x",
    };
    expect((await call("/v1/payments", customer.token, { method: "POST", body: JSON.stringify(body) })).status).toBe(
      400,
    );
    for (const bad of [
      { amount: "0" },
      { amount: "1.50" },
      { currency: "eur" },
      { merchantId: "acc_x" },
      { extra: 1 },
    ]) {
      const response = await call("/v1/payments", customer.token, {
        method: "POST",
        key: crypto.randomUUID(),
        body: JSON.stringify({ ...body, ...bad }),
      });
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
    }
    const unknown = await call("/v1/payments", customer.token, {
      method: "POST",
      key: crypto.randomUUID(),
      body: JSON.stringify(body),
    });
    expect(unknown.status).toBe(404);
  });
});

describe("refunds", () => {
  it("are the merchant's (or an operator's): the payer gets 403, a stranger 404", async () => {
    const { payer, paymentId } = await completedPayment(1000n);
    const attempt = (who: Principal) =>
      inDatabase((db) => beginRefund(db, who, crypto.randomUUID(), "f", paymentId, { amount: 1n, reason: "r" })).catch(
        (error: unknown) => (isAppError(error) ? error.status : error),
      );
    expect(await attempt(principal(payer))).toBe(403);
    expect(await attempt(principal("usr_stranger"))).toBe(404);
    expect(await attempt(principal("usr_staff", ["operator"]))).toMatchObject({ kind: "created" });
  });

  it("never exceed the payment: beyond what is left is a 422 that changes nothing", async () => {
    const { owner, paymentId } = await completedPayment(1000n);
    const merchant = principal(owner);
    const refund = (amount: bigint, key = crypto.randomUUID()) =>
      inDatabase((db) => beginRefund(db, merchant, key, `fp-${amount}`, paymentId, { amount, reason: "r" }));
    await refund(600n);
    const over = await refund(401n).catch((error: unknown) => error);
    expect(isAppError(over) && over.status).toBe(422);
    expect(isAppError(over) && over.extensions).toMatchObject({ reason: "refund_exceeds_payment", refundable: "400" });
    const [row] = await inDatabase((db) => db.select().from(payments).where(eq(payments.id, paymentId)));
    expect(row?.refundedAmount).toBe(600n);
    expect(await refund(400n)).toMatchObject({ kind: "created" });
  });

  it("racing each other, together never exceed the payment", async () => {
    const { owner, paymentId } = await completedPayment(1000n);
    const merchant = principal(owner);
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        inDatabase((db) =>
          beginRefund(db, merchant, crypto.randomUUID(), "fp", paymentId, { amount: 300n, reason: "race" }),
        ).then(
          () => "created",
          (error: unknown) => (isAppError(error) ? error.status : String(error)),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === "created")).toHaveLength(3);
    expect(outcomes.filter((o) => o === 422)).toHaveLength(3);
    const rows = await inDatabase((db) => db.select().from(refunds).where(eq(refunds.paymentId, paymentId)));
    expect(rows.reduce((sum, r) => sum + r.amount, 0n)).toBe(900n);
  });

  it("one refund per Idempotency-Key; the same key with another body is a 422", async () => {
    const { owner, paymentId } = await completedPayment(1000n);
    const merchant = principal(owner);
    const first = await inDatabase((db) =>
      beginRefund(db, merchant, "k-1", "fp-a", paymentId, { amount: 100n, reason: "r" }),
    );
    expect(first.kind).toBe("created");
    const again = await inDatabase((db) =>
      beginRefund(db, merchant, "k-1", "fp-a", paymentId, { amount: 100n, reason: "r" }),
    ).catch((error: unknown) => (isAppError(error) ? error.status : error));
    // The first is still running (no stored answer yet): a repeat is told to wait.
    expect(again).toBe(409);
    const other = await inDatabase((db) =>
      beginRefund(db, merchant, "k-1", "fp-b", paymentId, { amount: 200n, reason: "r" }),
    ).catch((error: unknown) => (isAppError(error) ? error.status : error));
    expect(other).toBe(422);
    const rows = await inDatabase((db) => db.select().from(refunds).where(eq(refunds.paymentId, paymentId)));
    expect(rows).toHaveLength(1);
  });
});
