import type { Principal } from "@edgebank/auth";
import { type Database, withDatabase } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { type AccountOperation, operateAccount, recordInLedger } from "@edgebank/service/clients";
import { type Begun, beginIdempotent } from "@edgebank/service/idempotency";
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { idempotencyRecords, payments, type RefundStep, refunds } from "../db/schema.ts";
import { serviceSettings } from "../service.ts";
import { type PaymentRow, paymentEventData, reasonOf, writeEvent } from "./payments.ts";

export type RefundRow = typeof refunds.$inferSelect;

export function presentRefund(row: RefundRow) {
  return {
    id: row.id,
    paymentId: row.paymentId,
    amount: row.amount.toString(),
    reason: row.reason,
    status: row.status,
    ...(row.failureReason ? { failureReason: row.failureReason } : {}),
    createdAt: row.createdAt.toISOString(),
    ...(row.completedAt ? { completedAt: row.completedAt.toISOString() } : {}),
  };
}

/** Who may refund a payment: its merchant's owner, or an operator. Others: 404 (or 403 for the payer). */
function assertMayRefund(principal: Principal, payment: PaymentRow | undefined, id: string): asserts payment {
  if (payment && (payment.merchantOwnerId === principal.subject || principal.scopes.has("operator"))) return;
  if (payment && payment.payerId === principal.subject) {
    throw new AppError("forbidden", "Only the merchant (or an operator) refunds a payment.");
  }
  throw new AppError("not_found", `Payment ${id} does not exist.`);
}

export type BegunRefund = Begun<RefundRow>;

/**
 * Creates a refund under the caller's Idempotency-Key, reserving its amount on the payment in
 * the same transaction, under the payment row's lock: concurrent refunds queue, and together
 * they never exceed what was captured (a refund beyond the rest is a 422, and nothing changes).
 */
export async function beginRefund(
  db: Database,
  principal: Principal,
  key: string,
  fingerprint: string,
  paymentId: string,
  input: { amount: bigint; reason: string },
): Promise<BegunRefund> {
  const request = { principal: principal.subject, key, fingerprint, resourceId: newId("refund") };
  return beginIdempotent(db, idempotencyRecords, request, {
    load: async (tx, id) => (await tx.select().from(refunds).where(eq(refunds.id, id)))[0],
    create: async (tx, id) => {
      const [payment] = await tx.select().from(payments).where(eq(payments.id, paymentId)).for("update");
      assertMayRefund(principal, payment, paymentId);
      if (payment.status !== "COMPLETED") {
        throw new AppError(
          "conflict",
          `Payment ${paymentId} is ${payment.status}: only a completed payment is refunded.`,
        );
      }
      const refundable = payment.amount - payment.refundedAmount;
      if (input.amount > refundable) {
        throw new AppError(
          "unprocessable",
          `At most ${refundable} (minor units) of this payment can still be refunded.`,
          {
            extensions: { reason: "refund_exceeds_payment", refundable: refundable.toString() },
          },
        );
      }
      await tx
        .update(payments)
        .set({ refundedAmount: sql`${payments.refundedAmount} + ${input.amount}`, updatedAt: new Date() })
        .where(eq(payments.id, paymentId));
      const [refund] = await tx
        .insert(refunds)
        .values({ id, paymentId, amount: input.amount, reason: input.reason, requestedBy: principal.subject })
        .returning();
      if (!refund) throw new Error("refund insert returned nothing");
      return refund;
    },
  });
}

async function advance(db: Database, id: string, from: RefundStep, to: RefundStep): Promise<void> {
  await db
    .update(refunds)
    .set({ step: to, updatedAt: new Date() })
    .where(and(eq(refunds.id, id), eq(refunds.step, from), eq(refunds.status, "PENDING")));
}

/**
 * Runs a pending refund's remaining steps: debit (the merchant's account) → credit (the
 * payer's) → record (a balanced ledger entry) → COMPLETED with PaymentRefunded. A refused debit
 * (the merchant's balance, a frozen account) fails it and gives the reservation back; a payer
 * account that refuses the credit after the debit leaves it NEEDS_ATTENTION for an operator.
 * Transient failures throw and the next run continues at the same step.
 */
export function runRefund(env: object, id: string, traceparent?: string): Promise<RefundRow> {
  return withDatabase(serviceSettings(env), (db) => runRefundIn(db, env, id, traceparent));
}

/** runRefund on a given database handle (a consumer's, say). */
export async function runRefundIn(db: Database, env: object, id: string, traceparent?: string): Promise<RefundRow> {
  // Every account operation carries the request's trace, so its events continue it.
  const operate = (accountId: string, operation: AccountOperation) =>
    operateAccount(env, accountId, operation, traceparent);
  for (;;) {
    const [refund] = await db.select().from(refunds).where(eq(refunds.id, id));
    if (!refund) throw new Error(`refund ${id} does not exist`);
    if (refund.status !== "PENDING") return refund;
    const [payment] = await db.select().from(payments).where(eq(payments.id, refund.paymentId));
    if (!payment) throw new Error(`refund ${id} without its payment`);
    const amount = refund.amount.toString();
    switch (refund.step) {
      case "debit": {
        const outcome = await operate(payment.merchantAccountId, {
          kind: "debit",
          operationId: `${id}:debit`,
          amount,
          currency: payment.currency,
        });
        if (outcome.kind === "applied") {
          await advance(db, id, "debit", "credit");
          break;
        }
        await db.transaction(async (tx) => {
          const [failed] = await tx
            .update(refunds)
            .set({ status: "FAILED", step: "done", failureReason: reasonOf(outcome), updatedAt: new Date() })
            .where(and(eq(refunds.id, id), eq(refunds.status, "PENDING")))
            .returning();
          if (!failed) return;
          await tx
            .update(payments)
            .set({ refundedAmount: sql`${payments.refundedAmount} - ${refund.amount}`, updatedAt: new Date() })
            .where(eq(payments.id, payment.id));
        });
        break;
      }
      case "credit": {
        const outcome = await operate(payment.payerAccountId, {
          kind: "credit",
          operationId: `${id}:credit`,
          amount,
          currency: payment.currency,
        });
        if (outcome.kind === "applied") {
          await advance(db, id, "credit", "record");
        } else {
          await db
            .update(refunds)
            .set({ status: "NEEDS_ATTENTION", failureReason: `payer_${reasonOf(outcome)}`, updatedAt: new Date() })
            .where(and(eq(refunds.id, id), eq(refunds.status, "PENDING")));
        }
        break;
      }
      case "record": {
        const outcome = await recordInLedger(env, {
          transferId: id,
          description: `Refund of payment ${payment.reference} (${payment.id})`,
          postings: [
            { accountId: payment.merchantAccountId, amount: `-${amount}`, currency: payment.currency },
            { accountId: payment.payerAccountId, amount, currency: payment.currency },
          ],
        });
        if (outcome.kind !== "applied") {
          throw new AppError("internal", `refund ${id}: the ledger refused the entry: ${reasonOf(outcome)}`);
        }
        await db.transaction(async (tx) => {
          const [done] = await tx
            .update(refunds)
            .set({ status: "COMPLETED", step: "done", completedAt: new Date(), updatedAt: new Date() })
            .where(and(eq(refunds.id, id), eq(refunds.status, "PENDING")))
            .returning();
          if (!done) return;
          const [current] = await tx.select().from(payments).where(eq(payments.id, payment.id));
          if (!current) return;
          await writeEvent(
            tx,
            "PaymentRefunded",
            payment.id,
            {
              ...paymentEventData(current),
              refundId: id,
              refundAmount: amount,
            },
            traceparent,
          );
        });
        break;
      }
      case "done":
        return refund;
    }
  }
}

/** Pending refunds untouched for a while. */
export async function staleRefunds(db: Database, olderThanSeconds: number, limit = 50): Promise<string[]> {
  const rows = await db
    .select({ id: refunds.id })
    .from(refunds)
    .where(and(eq(refunds.status, "PENDING"), lt(refunds.updatedAt, new Date(Date.now() - olderThanSeconds * 1000))))
    .limit(limit);
  return rows.map((row) => row.id);
}

export async function listRefunds(db: Database, paymentId: string): Promise<RefundRow[]> {
  return db.select().from(refunds).where(eq(refunds.paymentId, paymentId)).orderBy(desc(refunds.id));
}
