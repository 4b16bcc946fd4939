import type { Database } from "@edgebank/db";
import type { PaymentSettlement, RefundSettlement } from "@edgebank/durable-objects/payment";
import { countEvent } from "@edgebank/http";
import { and, eq, inArray, sql } from "drizzle-orm";
import { type PaymentStatus, payments, refunds } from "../db/schema.ts";
import { paymentEventData, writeEvent } from "./payments.ts";

/**
 * Where a payment's or a refund's flow writes its row: the status with its event, in one
 * transaction, once (a replayed step finds the row moved and changes nothing). A row moves only
 * forward: PENDING → AUTHORIZED (an order's) → an end; NEEDS_ATTENTION may later end when an
 * operator resolves it.
 */

/** The statuses a payment may settle from, per target. */
const paymentMovesFrom: Record<PaymentSettlement["status"], PaymentStatus[]> = {
  AUTHORIZED: ["PENDING"],
  COMPLETED: ["PENDING", "AUTHORIZED", "NEEDS_ATTENTION"],
  FAILED: ["PENDING", "AUTHORIZED", "NEEDS_ATTENTION"],
  VOIDED: ["PENDING", "AUTHORIZED", "NEEDS_ATTENTION"],
  NEEDS_ATTENTION: ["PENDING", "AUTHORIZED"],
};

/**
 * A direct payment ends with PaymentCompleted or PaymentFailed; an order's is authorized
 * (PaymentAuthorized) and ends with the choreography's PaymentCaptured, PaymentDeclined or
 * PaymentVoided. NEEDS_ATTENTION has no event: operators see it (and its metric alerts).
 */
function paymentEventType(status: PaymentSettlement["status"], forOrder: boolean): string | undefined {
  switch (status) {
    case "AUTHORIZED":
      return "PaymentAuthorized";
    case "COMPLETED":
      return forOrder ? "PaymentCaptured" : "PaymentCompleted";
    case "FAILED":
      return forOrder ? "PaymentDeclined" : "PaymentFailed";
    case "VOIDED":
      return "PaymentVoided";
    case "NEEDS_ATTENTION":
      return undefined;
  }
}

export async function settlePayment(
  db: Database,
  env: object,
  id: string,
  outcome: PaymentSettlement,
  traceparent?: string,
): Promise<void> {
  const now = new Date();
  const settled = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(payments)
      .set({
        status: outcome.status,
        // The row's step says where its last settlement left it (the flow object runs the steps).
        ...(outcome.status === "AUTHORIZED" ? { step: "capture" as const } : {}),
        ...(outcome.status === "COMPLETED" || outcome.status === "FAILED" || outcome.status === "VOIDED"
          ? { step: "done" as const }
          : {}),
        ...(outcome.status === "COMPLETED" ? { completedAt: now, failureReason: null } : {}),
        ...("reason" in outcome ? { failureReason: outcome.reason } : {}),
        updatedAt: now,
      })
      .where(and(eq(payments.id, id), inArray(payments.status, paymentMovesFrom[outcome.status])))
      .returning();
    if (!row) return undefined;
    const type = paymentEventType(outcome.status, row.orderId !== null);
    if (type) await writeEvent(tx, type, id, paymentEventData(row), traceparent);
    return { status: row.status, reason: row.failureReason ?? "", kind: row.orderId ? "order" : "direct" };
  });
  if (settled) countEvent(env, "payments", "payment_settled", settled);
}

/**
 * A refund's end: COMPLETED with PaymentRefunded; FAILED gives its reserved amount back to the
 * payment (nothing moved in the end); NEEDS_ATTENTION waits for an operator.
 */
export async function settleRefund(
  db: Database,
  env: object,
  id: string,
  outcome: RefundSettlement,
  traceparent?: string,
): Promise<void> {
  const now = new Date();
  const settled = await db.transaction(async (tx) => {
    const from =
      outcome.status === "NEEDS_ATTENTION" ? ["PENDING" as const] : ["PENDING" as const, "NEEDS_ATTENTION" as const];
    const [refund] = await tx
      .update(refunds)
      .set({
        status: outcome.status,
        ...(outcome.status === "NEEDS_ATTENTION" ? {} : { step: "done" as const }),
        ...(outcome.status === "COMPLETED"
          ? { completedAt: now, failureReason: null }
          : { failureReason: outcome.reason }),
        updatedAt: now,
      })
      .where(and(eq(refunds.id, id), inArray(refunds.status, from)))
      .returning();
    if (!refund) return undefined;
    if (outcome.status === "FAILED") {
      await tx
        .update(payments)
        .set({ refundedAmount: sql`${payments.refundedAmount} - ${refund.amount}`, updatedAt: now })
        .where(eq(payments.id, refund.paymentId));
    }
    if (outcome.status === "COMPLETED") {
      const [payment] = await tx.select().from(payments).where(eq(payments.id, refund.paymentId));
      if (!payment) throw new Error(`refund ${id} without its payment`);
      await writeEvent(
        tx,
        "PaymentRefunded",
        payment.id,
        { ...paymentEventData(payment), refundId: id, refundAmount: refund.amount.toString() },
        traceparent,
      );
    }
    return { status: refund.status, reason: refund.failureReason ?? "" };
  });
  if (settled) countEvent(env, "payments", "refund_settled", settled);
}
