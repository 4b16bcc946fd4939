import type { Principal } from "@edgebank/auth";
import type { KnownEvent } from "@edgebank/consumer";
import type { Database, Transaction } from "@edgebank/db";
import { newId } from "@edgebank/ids";
import { accountSummary, operateAccount } from "@edgebank/service/clients";
import { and, eq } from "drizzle-orm";
import { merchants, payments } from "../db/schema.ts";
import { paymentSettings } from "../service.ts";
import { type PaymentRow, paymentEventData, reasonOf, runPaymentIn, writeEvent } from "./payments.ts";
import { beginRefund, runRefundIn } from "./refunds.ts";

/**
 * Payments' part of the order choreography. Each handler runs in the consumer's transaction
 * (with the event's inbox row), and every account operation carries an id made from the
 * payment, so an event handled again (after a crash, a redelivery) changes nothing twice.
 *
 * OrderCreated → authorize (a hold) → PaymentAuthorized, or PaymentFailed (declined).
 * StockReserved → capture, credit the merchant, ledger → PaymentCompleted.
 * StockRejected, or OrderCancelled while authorized → release the hold → PaymentVoided.
 * OrderCancelled after the capture → refund in full → PaymentRefunded.
 */

interface OrderData {
  orderId: string;
  buyerId: string;
  payerAccountId: string;
  merchantId: string;
  currency: string;
  total: string;
  reason?: string;
}

/** Who refunds a cancelled order that was already captured: the choreography itself. */
const choreography: Principal = {
  subject: "cli_service_payments",
  kind: "client",
  scopes: new Set(["operator"]),
  clientId: "cli_service_payments",
  tokenId: "choreography",
  token: "",
};

const db = (tx: Transaction) => tx as unknown as Database;

async function paymentOfOrder(tx: Transaction, orderId: string): Promise<PaymentRow | undefined> {
  const [row] = await tx.select().from(payments).where(eq(payments.orderId, orderId)).for("update");
  return row;
}

async function decline(tx: Transaction, row: PaymentRow, reason: string, traceparent?: string): Promise<void> {
  const [failed] = await tx
    .update(payments)
    .set({ status: "FAILED", step: "done", failureReason: reason, updatedAt: new Date() })
    .where(and(eq(payments.id, row.id), eq(payments.status, "PENDING")))
    .returning();
  if (failed) await writeEvent(tx, "PaymentFailed", failed.id, paymentEventData(failed), traceparent);
}

/** OrderCreated: the order's payment, authorized (held on the payer's account) or declined. */
export async function authorizeOrder(env: object, tx: Transaction, event: KnownEvent): Promise<void> {
  const order = event.data as OrderData;
  if (await paymentOfOrder(tx, order.orderId)) return;
  const [merchant] = await tx.select().from(merchants).where(eq(merchants.id, order.merchantId));
  const [row] = await tx
    .insert(payments)
    .values({
      id: newId("payment"),
      payerId: order.buyerId,
      payerAccountId: order.payerAccountId,
      merchantId: order.merchantId,
      merchantOwnerId: merchant?.ownerId ?? "unknown",
      merchantAccountId: merchant?.accountId ?? "unknown",
      amount: BigInt(order.total),
      currency: order.currency,
      reference: `order ${order.orderId}`,
      orderId: order.orderId,
    })
    .returning();
  if (!row) throw new Error("payment insert returned nothing");
  const traceparent = event.traceparent;
  await writeEvent(tx, "PaymentCreated", row.id, paymentEventData(row), traceparent);
  if (!merchant) return decline(tx, row, "unknown_merchant", traceparent);
  if (merchant.currency !== order.currency) return decline(tx, row, "currency_mismatch", traceparent);
  const payer = await accountSummary(env, order.payerAccountId);
  // Someone else's account is, for this buyer, an account that does not exist.
  if (!payer || payer.ownerId !== order.buyerId) return decline(tx, row, "account_not_found", traceparent);
  if (payer.currency !== order.currency) return decline(tx, row, "currency_mismatch", traceparent);
  const outcome = await operateAccount(env, row.payerAccountId, {
    kind: "hold",
    operationId: `${row.id}:authorize`,
    holdId: `${row.id}:hold`,
    amount: row.amount.toString(),
    currency: row.currency,
    expiresAt: new Date(
      row.createdAt.getTime() + paymentSettings(env).PAYMENT_AUTHORIZATION_SECONDS * 1000,
    ).toISOString(),
  });
  if (outcome.kind !== "applied") return decline(tx, row, reasonOf(outcome), traceparent);
  const [authorized] = await tx
    .update(payments)
    .set({ status: "AUTHORIZED", step: "capture", updatedAt: new Date() })
    .where(eq(payments.id, row.id))
    .returning();
  if (authorized) await writeEvent(tx, "PaymentAuthorized", row.id, paymentEventData(authorized), traceparent);
}

/** StockReserved: the authorized payment runs on (capture, credit, ledger) to PaymentCompleted. */
export async function captureOrder(env: object, tx: Transaction, event: KnownEvent): Promise<void> {
  const { orderId } = event.data as { orderId: string };
  const row = await paymentOfOrder(tx, orderId);
  // Voided or declined meanwhile: nothing to take.
  if (row?.status !== "AUTHORIZED") return;
  await tx.update(payments).set({ status: "PENDING", updatedAt: new Date() }).where(eq(payments.id, row.id));
  await runPaymentIn(db(tx), env, row.id, event.traceparent);
}

/** StockRejected, or the order cancelled: an authorized payment lets its hold go (PaymentVoided). */
export async function voidOrder(env: object, tx: Transaction, orderId: string, reason: string, traceparent?: string) {
  const row = await paymentOfOrder(tx, orderId);
  if (row?.status !== "AUTHORIZED") return false;
  const released = await operateAccount(env, row.payerAccountId, {
    kind: "release",
    operationId: `${row.id}:release`,
    holdId: `${row.id}:hold`,
  });
  // A hold that lapsed is gone already; anything else is tried again with the event.
  if (released.kind !== "applied" && !(released.kind === "refused" && released.reason === "hold_not_found")) {
    throw new Error(`releasing the hold of ${row.id}: ${reasonOf(released)}`);
  }
  const [voided] = await tx
    .update(payments)
    .set({ status: "VOIDED", step: "done", failureReason: reason, updatedAt: new Date() })
    .where(eq(payments.id, row.id))
    .returning();
  if (voided) await writeEvent(tx, "PaymentVoided", row.id, paymentEventData(voided), traceparent);
  return true;
}

/**
 * OrderCancelled: void an authorized payment; refund a captured one in full (the cancel raced
 * the capture); a payment still running is tried again with the event, once it settled.
 */
export async function cancelOrderPayment(env: object, tx: Transaction, event: KnownEvent): Promise<void> {
  const order = event.data as OrderData;
  const row = await paymentOfOrder(tx, order.orderId);
  if (!row) return;
  if (row.status === "AUTHORIZED") {
    await voidOrder(env, tx, order.orderId, order.reason ?? "order_cancelled", event.traceparent);
    return;
  }
  if (row.status === "PENDING") throw new Error(`payment ${row.id} of a cancelled order is still running`);
  if (row.status !== "COMPLETED" || row.refundedAmount >= row.amount) return;
  const begun = await beginRefund(db(tx), choreography, `order-cancelled:${order.orderId}`, "choreography", row.id, {
    amount: row.amount - row.refundedAmount,
    reason: "order cancelled",
  });
  if (begun.kind !== "replay") await runRefundIn(db(tx), env, begun.refund.id, event.traceparent);
}
