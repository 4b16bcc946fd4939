import type { Principal } from "@edgebank/auth";
import type { KnownEvent } from "@edgebank/consumer";
import type { Database } from "@edgebank/db";
import { FLOW_ANSWER_WITHIN_MS } from "@edgebank/durable-objects/flow/shell";
import { type EventData, expectEvent } from "@edgebank/events";
import { newId } from "@edgebank/ids";
import { accountSummary } from "@edgebank/service/clients";
import { eq } from "drizzle-orm";
import { payments } from "../db/schema.ts";
import { findMerchant, type MerchantRow } from "../repo/merchants.ts";
import { paymentFlowOf, refundFlowOf } from "../service.ts";
import { type PaymentRow, paymentEventData, paymentSubject, writeEvent } from "./payments.ts";
import { beginRefund, refundSubject } from "./refunds.ts";

/**
 * Payments' part of the order choreography. The handlers call the payment's flow object (which
 * calls accounts and the ledger), so they run before the consumer's inbox transaction (its
 * `prepare`); the flow settles the row with its event in its own transactions, and an event
 * handled again (a crash, a redelivery) finds the flow where it stopped. Capture and void race
 * (StockReserved and OrderCancelled come on different topics): each is a signal to the
 * authorized payment's flow object, which takes the first and answers the second with where
 * the flow went.
 *
 * OrderCreated → authorize (a hold) → PaymentAuthorized, or PaymentDeclined.
 * StockReserved → capture, credit the merchant, ledger → PaymentCaptured.
 * StockRejected, or OrderCancelled while authorized → release the hold → PaymentVoided.
 * OrderCancelled after the capture → refund in full → PaymentRefunded.
 */

/** An order as its events carry it (OrderCreated and OrderCancelled share the schema). */
type OrderData = EventData<"OrderCreated">;

/** Who refunds a cancelled order that was already captured: the choreography itself. */
const choreography: Principal = {
  subject: "cli_service_payments",
  kind: "client",
  scopes: new Set(["operator"]),
  clientId: "cli_service_payments",
  tokenId: "choreography",
  token: "",
};

async function paymentOfOrder(db: Database, orderId: string): Promise<PaymentRow | undefined> {
  const [row] = await db.select().from(payments).where(eq(payments.orderId, orderId));
  return row;
}

/** Why this order cannot be paid from its account, if it cannot (checked before anything is held). */
async function refusalOf(env: object, order: OrderData, merchant: MerchantRow): Promise<string | undefined> {
  if (merchant.currency !== order.currency) return "currency_mismatch";
  const payer = await accountSummary(env, order.payerAccountId);
  // Someone else's account is, for this buyer, an account that does not exist.
  if (!payer || payer.ownerId !== order.buyerId) return "account_not_found";
  if (payer.currency !== order.currency) return "currency_mismatch";
  return undefined;
}

/**
 * The order's payment row with its PaymentCreated event, once (the order id is unique); a
 * refused one ends at once, FAILED with PaymentDeclined, in the same transaction. Only a payment
 * whose payer passed the checks is ever PENDING: the cron that sweeps stale payments starts its
 * flow if this handler died before it did.
 */
async function openOrderPayment(
  db: Database,
  order: OrderData,
  merchant: MerchantRow,
  refusal: string | undefined,
  traceparent: string | undefined,
): Promise<PaymentRow> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(payments)
      .values({
        id: newId("payment"),
        payerId: order.buyerId,
        payerAccountId: order.payerAccountId,
        merchantId: merchant.id,
        merchantOwnerId: merchant.ownerId,
        merchantAccountId: merchant.accountId,
        amount: BigInt(order.total),
        currency: order.currency,
        reference: `order ${order.orderId}`,
        orderId: order.orderId,
        ...(refusal ? { status: "FAILED" as const, step: "done" as const, failureReason: refusal } : {}),
      })
      .onConflictDoNothing({ target: payments.orderId })
      .returning();
    if (!row) return;
    await writeEvent(
      tx,
      "PaymentCreated",
      row.id,
      paymentEventData({ ...row, status: "PENDING", failureReason: null }),
      traceparent,
    );
    if (refusal) await writeEvent(tx, "PaymentDeclined", row.id, paymentEventData(row), traceparent);
  });
  const row = await paymentOfOrder(db, order.orderId);
  if (!row) throw new Error(`the payment of order ${order.orderId} vanished`);
  return row;
}

/** OrderCreated: the order's payment, authorized (held on the payer's account) or declined. */
export async function authorizeOrder(env: object, db: Database, event: KnownEvent): Promise<void> {
  const order = expectEvent(event, "OrderCreated").data;
  let row = await paymentOfOrder(db, order.orderId);
  if (!row) {
    const merchant = await findMerchant(db, order.merchantId);
    // Orders take the merchant from inventory's catalogue, which checked it with payments:
    // an unknown one is a bug to look at (the event is dead-lettered), not a decline.
    if (!merchant) throw new Error(`order ${order.orderId}: merchant ${order.merchantId} is unknown to payments`);
    row = await openOrderPayment(db, order, merchant, await refusalOf(env, order, merchant), event.traceparent);
  }
  if (row.status !== "PENDING") return;
  // Runs the authorization (again, after a crash: the flow starts once, the hold's id makes it once).
  const state = await paymentFlowOf(env, row.id).begin(
    paymentSubject(env, row, event.traceparent),
    FLOW_ANSWER_WITHIN_MS,
  );
  if (state?.status === "RUNNING") throw new Error(`payment ${row.id} is not authorized yet (${state.step})`);
}

/** The steps of an order's payment before it waits for the choreography. */
const beforeWaiting = new Set(["authorize", "authorized"]);

/**
 * Tells the order's payment to capture or let go; answers where its flow went, or throws (the
 * event is tried again) while the payment has not reached its wait yet.
 */
async function signal(env: object, row: PaymentRow, to: "capture" | "void", reason: string, traceparent?: string) {
  const flow = paymentFlowOf(env, row.id);
  const state =
    to === "capture"
      ? await flow.capture(FLOW_ANSWER_WITHIN_MS)
      : await flow.cancelAuthorization(reason, FLOW_ANSWER_WITHIN_MS);
  if (!state) {
    // Its row is pending but the flow never started (the OrderCreated handler died): start it.
    await flow.ensure(paymentSubject(env, row, traceparent));
    throw new Error(`payment ${row.id} was not started yet`);
  }
  if (state.status === "RUNNING" && beforeWaiting.has(state.step)) {
    throw new Error(`payment ${row.id} is not authorized yet (${state.step})`);
  }
  return state;
}

/** StockReserved: the authorized payment runs on (capture, credit, ledger) to PaymentCaptured. */
export async function captureOrder(env: object, db: Database, event: KnownEvent): Promise<void> {
  const { orderId } = expectEvent(event, "StockReserved").data;
  const row = await paymentOfOrder(db, orderId);
  // No payment, or one that ended (declined, voided first): nothing to take.
  if (row?.status !== "PENDING" && row?.status !== "AUTHORIZED") return;
  await signal(env, row, "capture", "", event.traceparent);
}

/** StockRejected: an authorized payment lets its hold go (PaymentVoided), unless it was captured first. */
export async function voidOrder(env: object, db: Database, orderId: string, reason: string, traceparent?: string) {
  const row = await paymentOfOrder(db, orderId);
  if (row?.status !== "PENDING" && row?.status !== "AUTHORIZED") return;
  await signal(env, row, "void", reason, traceparent);
}

/**
 * OrderCancelled: void an authorized payment; refund a captured one in full (the cancel raced
 * the capture); a payment still being captured is tried again with the event, once it settled.
 */
export async function cancelOrderPayment(env: object, db: Database, event: KnownEvent): Promise<void> {
  const order = expectEvent(event, "OrderCancelled").data;
  const row = await paymentOfOrder(db, order.orderId);
  if (!row) return;
  if (row.status === "PENDING" || row.status === "AUTHORIZED" || row.status === "NEEDS_ATTENTION") {
    const state = await signal(env, row, "void", order.reason ?? "order_cancelled", event.traceparent);
    // Still being captured (or waiting for an operator, who may yet complete it): the
    // cancellation is tried again with the event, and refunds it once it completed.
    if (state.status === "RUNNING" || state.status === "NEEDS_ATTENTION") {
      throw new Error(`payment ${row.id} of a cancelled order is ${state.status} at ${state.step}`);
    }
    if (state.status !== "COMPLETED") return;
  }
  // Captured: give back what is left to refund (a refund begun here and cut short is resumed
  // by the payment's cron, as every stale refund is).
  const [payment] = await db.select().from(payments).where(eq(payments.id, row.id));
  if (!payment) return;
  const rest = payment.amount - payment.refundedAmount;
  if (payment.status !== "COMPLETED" || rest <= 0n) return;
  const begun = await beginRefund(db, choreography, `order-cancelled:${order.orderId}`, "choreography", row.id, {
    amount: rest,
    reason: "order cancelled",
  });
  if (begun.kind === "replay") return;
  const refund = begun.resource;
  await refundFlowOf(env, refund.id).begin(refundSubject(refund, payment, event.traceparent), FLOW_ANSWER_WITHIN_MS);
}
