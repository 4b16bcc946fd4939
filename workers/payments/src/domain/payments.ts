import type { Principal } from "@edgebank/auth";
import type { Database, Transaction } from "@edgebank/db";
import type { PaymentSubject } from "@edgebank/durable-objects/payment";
import { AppError } from "@edgebank/errors";
import { newId, newUuidV7 } from "@edgebank/ids";
import { type Begun, beginIdempotent, idempotentAnswers } from "@edgebank/service/idempotency";
import { and, asc, desc, eq, inArray, lt } from "drizzle-orm";
import { idempotencyRecords, outbox, paymentActions, payments } from "../db/schema.ts";
import type { MerchantRow } from "../repo/merchants.ts";
import { paymentSettings } from "../service.ts";
import type { PaymentStatus } from "./statuses.ts";

export type PaymentRow = typeof payments.$inferSelect;

export function presentPayment(row: PaymentRow) {
  return {
    id: row.id,
    payerAccountId: row.payerAccountId,
    merchantId: row.merchantId,
    amount: row.amount.toString(),
    currency: row.currency,
    reference: row.reference,
    status: row.status,
    refundedAmount: row.refundedAmount.toString(),
    ...(row.failureReason ? { failureReason: row.failureReason } : {}),
    createdAt: row.createdAt.toISOString(),
    ...(row.completedAt ? { completedAt: row.completedAt.toISOString() } : {}),
  };
}

/** An event's data about a payment (the catalog's `payment` shape). */
export function paymentEventData(row: PaymentRow): Record<string, unknown> {
  return {
    paymentId: row.id,
    payerId: row.payerId,
    payerAccountId: row.payerAccountId,
    merchantId: row.merchantId,
    merchantOwnerId: row.merchantOwnerId,
    merchantAccountId: row.merchantAccountId,
    amount: row.amount.toString(),
    currency: row.currency,
    reference: row.reference,
    status: row.status,
    refundedAmount: row.refundedAmount.toString(),
    ...(row.failureReason ? { reason: row.failureReason } : {}),
    ...(row.orderId ? { orderId: row.orderId } : {}),
  };
}

export async function writeEvent(
  tx: Transaction,
  type: string,
  aggregateId: string,
  payload: Record<string, unknown>,
  traceparent?: string,
) {
  await tx.insert(outbox).values({ id: newUuidV7(), aggregateId, type, payload, traceparent: traceparent ?? null });
}

export interface PaymentInput {
  payerAccountId: string;
  merchant: MerchantRow;
  amount: bigint;
  currency: string;
  reference: string;
  /** The request's W3C traceparent: its events continue that trace. */
  traceparent?: string;
}

export type BegunPayment = Begun<PaymentRow>;

/** Records the final answer to a payment or refund request under its Idempotency-Key: every repeat gets it. */
export const rememberAnswer = idempotentAnswers(idempotencyRecords);

/**
 * The payment row, its PaymentCreated event and the caller's Idempotency-Key record, in one
 * transaction; a repeat of the key replays, answers or resumes the first (see beginIdempotent).
 */
export async function beginPayment(
  db: Database,
  principal: Principal,
  key: string,
  fingerprint: string,
  input: PaymentInput,
): Promise<BegunPayment> {
  const request = { principal: principal.subject, key, fingerprint, resourceId: newId("payment") };
  return beginIdempotent(db, idempotencyRecords, request, {
    load: async (tx, id) => (await tx.select().from(payments).where(eq(payments.id, id)))[0],
    settled: (row) => row.status === "COMPLETED" || row.status === "FAILED",
    create: async (tx, id) => {
      const [payment] = await tx
        .insert(payments)
        .values({
          id,
          payerId: principal.subject,
          payerAccountId: input.payerAccountId,
          merchantId: input.merchant.id,
          merchantOwnerId: input.merchant.ownerId,
          merchantAccountId: input.merchant.accountId,
          amount: input.amount,
          currency: input.currency,
          reference: input.reference,
        })
        .returning();
      if (!payment) throw new Error("payment insert returned nothing");
      await writeEvent(tx, "PaymentCreated", payment.id, paymentEventData(payment), input.traceparent);
      return payment;
    },
  });
}

/** What a payment's flow moves, from its row (see durable-objects/payment). */
export function paymentSubject(env: object, row: PaymentRow, traceparent?: string): PaymentSubject {
  const holdSeconds = paymentSettings(env).PAYMENT_AUTHORIZATION_SECONDS;
  return {
    id: row.id,
    payerAccountId: row.payerAccountId,
    merchantAccountId: row.merchantAccountId,
    amount: row.amount.toString(),
    currency: row.currency,
    description: `Payment ${row.reference} to ${row.merchantId}`,
    authorizationExpiresAt: new Date(row.createdAt.getTime() + holdSeconds * 1000).toISOString(),
    ...(row.orderId ? { orderId: row.orderId } : {}),
    ...(traceparent ? { traceparent } : {}),
  };
}

/**
 * Claims pending payments untouched for `olderThanSeconds` (their flow's alarm may have been
 * lost), oldest first, touching them so the next sweep takes the next ones (and a concurrent
 * sweep other ones).
 */
export async function claimStalePayments(db: Database, olderThanSeconds: number, limit = 50): Promise<PaymentRow[]> {
  const stale = db
    .select({ id: payments.id })
    .from(payments)
    .where(and(eq(payments.status, "PENDING"), lt(payments.updatedAt, new Date(Date.now() - olderThanSeconds * 1000))))
    .orderBy(asc(payments.updatedAt))
    .limit(limit)
    .for("update", { skipLocked: true });
  return db.update(payments).set({ updatedAt: new Date() }).where(inArray(payments.id, stale)).returning();
}

const seesEverything = (principal: Principal) => principal.scopes.has("operator") || principal.scopes.has("auditor");

/**
 * A payment its payer, its merchant's owner (or an operator or auditor) may see; 404 to
 * everyone else, so ids cannot be probed.
 */
export async function getVisiblePayment(db: Database, principal: Principal, id: string): Promise<PaymentRow> {
  const [row] = await db.select().from(payments).where(eq(payments.id, id));
  const sees =
    row &&
    (row.payerId === principal.subject || row.merchantOwnerId === principal.subject || seesEverything(principal));
  if (!row || !sees) throw new AppError("not_found", `Payment ${id} does not exist.`);
  return row;
}

/**
 * Operator: payment `id`, in NEEDS_ATTENTION, runs again (retry) or is undone (compensate); the
 * action is recorded with who did it, in the transaction that takes the payment out of
 * NEEDS_ATTENTION, so two operators cannot act on it at once (the second gets a 409).
 */
export async function resumePayment(
  db: Database,
  principal: Principal,
  id: string,
  action: "retry" | "compensate",
): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(payments)
      .set({ status: "PENDING", failureReason: null, updatedAt: new Date() })
      .where(and(eq(payments.id, id), eq(payments.status, "NEEDS_ATTENTION")))
      .returning({ id: payments.id });
    if (!row) throw new AppError("conflict", `Payment ${id} does not need attention.`);
    await tx
      .insert(paymentActions)
      .values({ id: newId("paymentAction"), paymentId: id, actor: principal.subject, action });
  });
}

/**
 * The caller's payments as payer, or (merchant) those made to their merchants; operators and
 * auditors see everyone's. Newest first; `status` narrows them (what needs attention).
 */
export async function listPayments(
  db: Database,
  principal: Principal,
  page: {
    limit: number;
    cursor?: string | undefined;
    as: "payer" | "merchant";
    merchantId?: string | undefined;
    status?: PaymentStatus | undefined;
  },
) {
  const mine =
    page.as === "payer" ? eq(payments.payerId, principal.subject) : eq(payments.merchantOwnerId, principal.subject);
  const rows = await db
    .select()
    .from(payments)
    .where(
      and(
        seesEverything(principal) && page.as === "payer" ? undefined : mine,
        page.status ? eq(payments.status, page.status) : undefined,
        page.merchantId ? eq(payments.merchantId, page.merchantId) : undefined,
        page.cursor ? lt(payments.id, page.cursor) : undefined,
      ),
    )
    .orderBy(desc(payments.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map(presentPayment);
  return { items, nextCursor: rows.length > page.limit ? items.at(-1)?.id : undefined };
}
