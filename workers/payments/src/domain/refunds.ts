import type { Principal } from "@edgebank/auth";
import type { Database } from "@edgebank/db";
import type { RefundSubject } from "@edgebank/durable-objects/payment";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { type Begun, beginIdempotent } from "@edgebank/service/idempotency";
import { and, asc, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { idempotencyRecords, paymentActions, payments, refunds } from "../db/schema.ts";
import type { PaymentRow } from "./payments.ts";
import type { RefundStatus } from "./statuses.ts";

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
    settled: (row) => row.status === "COMPLETED" || row.status === "FAILED",
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

/** What a refund's flow moves, from its row and its payment's (see durable-objects/payment). */
export function refundSubject(refund: RefundRow, payment: PaymentRow, traceparent?: string): RefundSubject {
  return {
    id: refund.id,
    paymentId: payment.id,
    merchantAccountId: payment.merchantAccountId,
    payerAccountId: payment.payerAccountId,
    amount: refund.amount.toString(),
    currency: payment.currency,
    description: `Refund of payment ${payment.reference} (${payment.id})`,
    ...(traceparent ? { traceparent } : {}),
  };
}

/** Claims pending refunds untouched for a while, with their payments (see claimStalePayments). */
export async function claimStaleRefunds(
  db: Database,
  olderThanSeconds: number,
  limit = 50,
): Promise<Array<{ refund: RefundRow; payment: PaymentRow }>> {
  const stale = db
    .select({ id: refunds.id })
    .from(refunds)
    .where(and(eq(refunds.status, "PENDING"), lt(refunds.updatedAt, new Date(Date.now() - olderThanSeconds * 1000))))
    .orderBy(asc(refunds.updatedAt))
    .limit(limit)
    .for("update", { skipLocked: true });
  const claimed = await db.update(refunds).set({ updatedAt: new Date() }).where(inArray(refunds.id, stale)).returning();
  if (claimed.length === 0) return [];
  const owners = await db
    .select()
    .from(payments)
    .where(inArray(payments.id, [...new Set(claimed.map((refund) => refund.paymentId))]));
  const byId = new Map(owners.map((payment) => [payment.id, payment]));
  return claimed.flatMap((refund) => {
    const payment = byId.get(refund.paymentId);
    return payment ? [{ refund, payment }] : [];
  });
}

export async function getRefund(db: Database, id: string): Promise<RefundRow> {
  const [row] = await db.select().from(refunds).where(eq(refunds.id, id));
  if (!row) throw new Error(`refund ${id} does not exist`);
  return row;
}

export async function listRefunds(db: Database, paymentId: string): Promise<RefundRow[]> {
  return db.select().from(refunds).where(eq(refunds.paymentId, paymentId)).orderBy(desc(refunds.id));
}

/** Operators and auditors: refunds in `status` (what waits for an operator), newest first. */
export async function listRefundsByStatus(
  db: Database,
  page: { status: RefundStatus; limit: number },
): Promise<RefundRow[]> {
  return db.select().from(refunds).where(eq(refunds.status, page.status)).orderBy(desc(refunds.id)).limit(page.limit);
}

/**
 * Operator: refund `id`, in NEEDS_ATTENTION, runs again from the step it stopped at; recorded
 * with who did it in the transaction that takes it out of NEEDS_ATTENTION (a second operator
 * gets a 409). A refund is never compensated: once the merchant was debited, finishing is the
 * only way that loses nothing.
 */
export async function resumeRefund(db: Database, principal: Principal, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(refunds)
      .set({ status: "PENDING", failureReason: null, updatedAt: new Date() })
      .where(and(eq(refunds.id, id), eq(refunds.status, "NEEDS_ATTENTION")))
      .returning({ id: refunds.id, paymentId: refunds.paymentId });
    if (!row) {
      const [exists] = await tx.select({ id: refunds.id }).from(refunds).where(eq(refunds.id, id));
      if (!exists) throw new AppError("not_found", `Refund ${id} does not exist.`);
      throw new AppError("conflict", `Refund ${id} does not need attention.`);
    }
    await tx.insert(paymentActions).values({
      id: newId("paymentAction"),
      paymentId: row.paymentId,
      refundId: id,
      actor: principal.subject,
      action: "retry",
    });
  });
}
