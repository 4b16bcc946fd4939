import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type Database, withDatabase } from "@edgebank/db";
import { newId } from "@edgebank/ids";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { merchants, payments, refunds } from "../src/db/schema.ts";
import worker from "../src/index.ts";
import { paymentFlowOf, refundFlowOf } from "../src/service.ts";

/**
 * The payments cron as the sweeper of flows whose alarm was lost: a payment or a refund whose
 * row is pending but whose flow never started (its request died between the commit and the
 * flow's start) is started by the next sweep, from its row. Accounts and the ledger are
 * unavailable here, so the started flows wait to retry their first step.
 */
const inDatabase = <T>(work: (db: Database) => Promise<T>) =>
  withDatabase(
    { driver: "hyperdrive", connectionString: env.PAYMENTS_DB.connectionString, prepare: env.DB_PREPARE === "true" },
    work,
  );

/** Long ago: older than anything a sweep left, so this run's sweep takes it first. */
const longAgo = new Date("2000-01-01T00:00:00Z");

async function sweep() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("the payments cron", () => {
  it("starts the flow of a pending payment and of a pending refund that never started, from their rows", async () => {
    const merchantId = newId("merchant");
    const paymentId = newId("payment");
    const refundId = newId("refund");
    const refundedId = newId("payment");
    const payerAccountId = newId("account");
    const merchantAccountId = newId("account");
    await inDatabase(async (db) => {
      await db
        .insert(merchants)
        .values({ id: merchantId, ownerId: "usr_sweep", name: "Shop", accountId: merchantAccountId, currency: "EUR" });
      const payment = {
        payerId: "usr_sweep_payer",
        payerAccountId,
        merchantId,
        merchantOwnerId: "usr_sweep",
        merchantAccountId,
        amount: 250n,
        currency: "EUR",
        updatedAt: longAgo,
      };
      await db.insert(payments).values([
        { ...payment, id: paymentId, reference: "never started" },
        { ...payment, id: refundedId, reference: "refunded", status: "COMPLETED", step: "done" },
      ]);
      await db.insert(refunds).values({
        id: refundId,
        paymentId: refundedId,
        amount: 100n,
        reason: "never started",
        requestedBy: "usr_sweep",
        updatedAt: longAgo,
      });
    });
    await expect(paymentFlowOf(env, paymentId).outcome()).resolves.toBeUndefined();

    await sweep();

    const payment = await paymentFlowOf(env, paymentId).outcome();
    expect(payment).toMatchObject({
      status: "RUNNING",
      step: "authorize",
      subject: { id: paymentId, payerAccountId, merchantAccountId, amount: "250", currency: "EUR" },
    });
    const refund = await refundFlowOf(env, refundId).outcome();
    expect(refund).toMatchObject({
      status: "RUNNING",
      step: "debit",
      subject: { id: refundId, merchantAccountId, payerAccountId, amount: "100" },
    });
    // Claimed: touched, so the next sweep takes the next stale rows first.
    const [row] = await inDatabase((db) => db.select().from(payments).where(eq(payments.id, paymentId)));
    expect(row?.updatedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });
});
