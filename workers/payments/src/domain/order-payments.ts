import type { Principal } from "@edgebank/auth";
import type { KnownEvent } from "@edgebank/consumer";
import type { Database } from "@edgebank/db";
import { type EventData, expectEvent } from "@edgebank/events";
import { newId } from "@edgebank/ids";
import { accountSummary, operateAccount } from "@edgebank/service/clients";
import { and, eq } from "drizzle-orm";
import { merchants, payments } from "../db/schema.ts";
import { type PaymentRow, paymentEventData, reasonOf, runPaymentIn, writeEvent } from "./payments.ts";
import { beginRefund, runRefundIn } from "./refunds.ts";

/**
 * Payments' part of the order choreography. The handlers call accounts and the ledger, so they
 * run before the consumer's inbox transaction (its `prepare`), and each step commits on its own
 * with its outbox event, as a direct payment's steps do: a transaction never waits on another
 * service, and an event handled again (a crash, a redelivery) finds the payment where it
 * stopped, while every account operation's id, made from the payment, makes a step run twice a
 * no-op. Capture and void race (StockReserved and OrderCancelled come on different topics):
 * each first claims the AUTHORIZED payment with a conditional update, and one claim wins.
 *
 * OrderCreated → authorize (a hold) → PaymentAuthorized, or PaymentDeclined.
 * StockReserved → capture, credit the merchant, ledger → PaymentCaptured.
 * StockRejected, or OrderCancelled while authorized → release the hold → PaymentVoided.
 * OrderCancelled after the capture → refund in full → PaymentRefunded.
 */

/** An order as its events carry it (OrderCreated and OrderCancelled share the schema). */
type OrderData = EventData<"OrderCreated">;

type MerchantRow = typeof merchants.$inferSelect;

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
 * whose payer passed the checks is ever PENDING: the cron that resumes stale payments may
 * authorize it without this handler.
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
    const [merchant] = await db.select().from(merchants).where(eq(merchants.id, order.merchantId));
    // Orders take the merchant from inventory's catalogue, which checked it with payments:
    // an unknown one is a bug to look at (the event is dead-lettered), not a decline.
    if (!merchant) throw new Error(`order ${order.orderId}: merchant ${order.merchantId} is unknown to payments`);
    row = await openOrderPayment(db, order, merchant, await refusalOf(env, order, merchant), event.traceparent);
  }
  // Runs the authorization (again, after a crash: the hold's operation id makes it once).
  if (row.status === "PENDING" && row.step === "authorize") await runPaymentIn(db, env, row.id, event.traceparent);
}

/** StockReserved: the authorized payment runs on (capture, credit, ledger) to PaymentCaptured. */
export async function captureOrder(env: object, db: Database, event: KnownEvent): Promise<void> {
  const { orderId } = expectEvent(event, "StockReserved").data;
  // Claim it; a void that claimed it first (or a payment declined meanwhile) leaves nothing to take.
  await db
    .update(payments)
    .set({ status: "PENDING", updatedAt: new Date() })
    .where(and(eq(payments.orderId, orderId), eq(payments.status, "AUTHORIZED"), eq(payments.step, "capture")));
  const row = await paymentOfOrder(db, orderId);
  if (row?.status === "PENDING") await runPaymentIn(db, env, row.id, event.traceparent);
}

/** StockRejected, or the order cancelled: an authorized payment lets its hold go (PaymentVoided). */
export async function voidOrder(env: object, db: Database, orderId: string, reason: string, traceparent?: string) {
  // Claim it (the reason of the first claim stays); a capture that claimed it first wins.
  await db
    .update(payments)
    .set({ step: "release", failureReason: reason, updatedAt: new Date() })
    .where(and(eq(payments.orderId, orderId), eq(payments.status, "AUTHORIZED"), eq(payments.step, "capture")));
  const row = await paymentOfOrder(db, orderId);
  if (row?.status !== "AUTHORIZED" || row.step !== "release") return false;
  const released = await operateAccount(
    env,
    row.payerAccountId,
    {
      kind: "release",
      operationId: `${row.id}:release`,
      holdId: `${row.id}:hold`,
    },
    traceparent,
  );
  // A hold that lapsed is gone already; anything else is tried again with the event.
  if (released.kind !== "applied" && !(released.kind === "refused" && released.reason === "hold_not_found")) {
    throw new Error(`releasing the hold of ${row.id}: ${reasonOf(released)}`);
  }
  await db.transaction(async (tx) => {
    const [voided] = await tx
      .update(payments)
      .set({ status: "VOIDED", step: "done", updatedAt: new Date() })
      .where(and(eq(payments.id, row.id), eq(payments.status, "AUTHORIZED"), eq(payments.step, "release")))
      .returning();
    if (voided) await writeEvent(tx, "PaymentVoided", row.id, paymentEventData(voided), traceparent);
  });
  return true;
}

/**
 * OrderCancelled: void an authorized payment; refund a captured one in full (the cancel raced
 * the capture); a payment still running is tried again with the event, once it settled.
 */
export async function cancelOrderPayment(env: object, db: Database, event: KnownEvent): Promise<void> {
  const order = expectEvent(event, "OrderCancelled").data;
  const row = await paymentOfOrder(db, order.orderId);
  if (!row) return;
  if (row.status === "AUTHORIZED") {
    await voidOrder(env, db, order.orderId, order.reason ?? "order_cancelled", event.traceparent);
    return;
  }
  if (row.status === "PENDING") throw new Error(`payment ${row.id} of a cancelled order is still running`);
  // Nothing left to give back: refunded already (a refund begun here and cut short is resumed
  // by the payments cron, as every stale refund is).
  const rest = row.amount - row.refundedAmount;
  if (row.status !== "COMPLETED" || rest <= 0n) return;
  const begun = await beginRefund(db, choreography, `order-cancelled:${order.orderId}`, "choreography", row.id, {
    amount: rest,
    reason: "order cancelled",
  });
  if (begun.kind !== "replay") await runRefundIn(db, env, begun.resource.id, event.traceparent);
}
