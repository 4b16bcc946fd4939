import type { Principal } from "@edgebank/auth";
import { type Database, type Transaction, withDatabase } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { countEvent } from "@edgebank/http";
import { newId, newUuidV7 } from "@edgebank/ids";
import { type AccountOperation, operateAccount, recordInLedger } from "@edgebank/service/clients";
import { type Begun, beginIdempotent } from "@edgebank/service/idempotency";
import { and, desc, eq, lt } from "drizzle-orm";
import { idempotencyRecords, type merchants, outbox, type PaymentStep, payments } from "../db/schema.ts";
import { paymentSettings, serviceSettings } from "../service.ts";

export type PaymentRow = typeof payments.$inferSelect;
export type MerchantRow = typeof merchants.$inferSelect;

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

/**
 * The payment row, its PaymentCreated event and the caller's Idempotency-Key record, in one
 * transaction; a repeat of the key replays or resumes the first (see beginIdempotent).
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

async function load(db: Database, id: string): Promise<PaymentRow> {
  const [row] = await db.select().from(payments).where(eq(payments.id, id));
  if (!row) throw new Error(`payment ${id} does not exist`);
  return row;
}

/** Moves a pending payment from one step to the next (only if no one else did). */
async function advance(db: Database, id: string, from: PaymentStep, to: PaymentStep): Promise<void> {
  await db
    .update(payments)
    .set({ step: to, updatedAt: new Date() })
    .where(and(eq(payments.id, id), eq(payments.step, from), eq(payments.status, "PENDING")));
}

/** An order's payment, held on the payer's account: AUTHORIZED with PaymentAuthorized, once. */
async function authorized(db: Database, id: string, traceparent?: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(payments)
      .set({ status: "AUTHORIZED", step: "capture", updatedAt: new Date() })
      .where(and(eq(payments.id, id), eq(payments.status, "PENDING"), eq(payments.step, "authorize")))
      .returning();
    if (row) await writeEvent(tx, "PaymentAuthorized", id, paymentEventData(row), traceparent);
  });
}

/**
 * Ends a pending payment, with its event, once. A direct payment ends with PaymentCompleted or
 * PaymentFailed; an order's with the choreography's PaymentCaptured or PaymentDeclined.
 */
async function settle(
  env: object,
  db: Database,
  id: string,
  outcome: { status: "COMPLETED" } | { status: "FAILED"; reason: string },
  traceparent?: string,
): Promise<void> {
  const settled = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(payments)
      .set({
        status: outcome.status,
        step: "done",
        updatedAt: new Date(),
        ...(outcome.status === "COMPLETED" ? { completedAt: new Date() } : { failureReason: outcome.reason }),
      })
      .where(and(eq(payments.id, id), eq(payments.status, "PENDING")))
      .returning();
    if (!row) return;
    const completed = outcome.status === "COMPLETED";
    const type = row.orderId
      ? completed
        ? "PaymentCaptured"
        : "PaymentDeclined"
      : completed
        ? "PaymentCompleted"
        : "PaymentFailed";
    await writeEvent(tx, type, id, paymentEventData(row), traceparent);
    return { status: row.status, reason: row.failureReason ?? "", kind: row.orderId ? "order" : "direct" };
  });
  if (settled) countEvent(env, "payments", "payment_settled", settled);
}

/**
 * Runs a pending payment's remaining steps: authorize (a hold on the payer's account) →
 * capture (the payer's money is taken) → credit (the merchant's account) → record (one
 * balanced ledger entry) → COMPLETED. A refused authorization fails it with nothing moved; an
 * expired authorization fails it (the hold released itself); a merchant account that refuses
 * the credit gets the captured money returned to the payer, then FAILED. A transient failure
 * (a service down) throws TransientFailure and leaves the payment at its step: the next run
 * (the cron, a repeat of the request) continues it, and every step's operation id makes a
 * second run of a step a no-op.
 */
export function runPayment(env: object, id: string, traceparent?: string): Promise<PaymentRow> {
  return withDatabase(serviceSettings(env), (db) => runPaymentIn(db, env, id, traceparent));
}

/** runPayment on a given database handle (a consumer's, say). */
export async function runPaymentIn(db: Database, env: object, id: string, traceparent?: string): Promise<PaymentRow> {
  // Every account operation carries the request's trace, so its events continue it.
  const operate = (accountId: string, operation: AccountOperation) =>
    operateAccount(env, accountId, operation, traceparent);
  for (;;) {
    const row = await load(db, id);
    if (row.status !== "PENDING") return row;
    const amount = row.amount.toString();
    switch (row.step) {
      case "authorize": {
        const holdSeconds = paymentSettings(env).PAYMENT_AUTHORIZATION_SECONDS;
        const outcome = await operate(row.payerAccountId, {
          kind: "hold",
          operationId: `${id}:authorize`,
          holdId: `${id}:hold`,
          amount,
          currency: row.currency,
          expiresAt: new Date(row.createdAt.getTime() + holdSeconds * 1000).toISOString(),
        });
        if (outcome.kind !== "applied")
          await settle(env, db, id, { status: "FAILED", reason: reasonOf(outcome) }, traceparent);
        // An order's payment waits, authorized, until its stock is reserved (or the order ends).
        else if (row.orderId) await authorized(db, id, traceparent);
        else await advance(db, id, "authorize", "capture");
        break;
      }
      case "capture": {
        const outcome = await operate(row.payerAccountId, {
          kind: "capture",
          operationId: `${id}:capture`,
          holdId: `${id}:hold`,
        });
        if (outcome.kind === "applied") {
          await advance(db, id, "capture", "credit");
        } else {
          // Not taken: let the payer have the money again (a hold that expired is gone already).
          await operate(row.payerAccountId, {
            kind: "release",
            operationId: `${id}:release`,
            holdId: `${id}:hold`,
          });
          const reason = reasonOf(outcome);
          await settle(
            env,
            db,
            id,
            {
              status: "FAILED",
              reason: reason === "hold_not_found" ? "authorization_expired" : reason,
            },
            traceparent,
          );
        }
        break;
      }
      case "credit": {
        const outcome = await operate(row.merchantAccountId, {
          kind: "credit",
          operationId: `${id}:credit`,
          amount,
          currency: row.currency,
          requireActive: true,
        });
        if (outcome.kind === "applied") {
          await advance(db, id, "credit", "record");
          break;
        }
        // The merchant cannot take it (frozen, closed): the captured money goes back.
        const back = await operate(row.payerAccountId, {
          kind: "credit",
          operationId: `${id}:return`,
          amount,
          currency: row.currency,
        });
        if (back.kind !== "applied") {
          throw new AppError("internal", `payment ${id}: returning the captured money failed: ${reasonOf(back)}`);
        }
        await settle(env, db, id, { status: "FAILED", reason: `merchant_${reasonOf(outcome)}` }, traceparent);
        break;
      }
      case "record": {
        const outcome = await recordInLedger(env, {
          transferId: id,
          description: `Payment ${row.reference} to ${row.merchantId}`,
          postings: [
            { accountId: row.payerAccountId, amount: `-${amount}`, currency: row.currency },
            { accountId: row.merchantAccountId, amount, currency: row.currency },
          ],
        });
        if (outcome.kind !== "applied") {
          // The money moved; the ledger refuses it: a person must look (the cron retries meanwhile).
          throw new AppError("internal", `payment ${id}: the ledger refused the entry: ${reasonOf(outcome)}`);
        }
        await settle(env, db, id, { status: "COMPLETED" }, traceparent);
        break;
      }
      case "done":
        return row;
    }
  }
}

export function reasonOf(outcome: Awaited<ReturnType<typeof operateAccount>>): string {
  if (outcome.kind === "refused") return outcome.reason;
  if (outcome.kind === "not_found") return "account_not_found";
  if (outcome.kind === "conflict") return "conflict";
  return "applied";
}

/** Pending payments untouched for a while (their worker died, a service was down). */
export async function stalePayments(db: Database, olderThanSeconds: number, limit = 50): Promise<string[]> {
  const rows = await db
    .select({ id: payments.id })
    .from(payments)
    .where(and(eq(payments.status, "PENDING"), lt(payments.updatedAt, new Date(Date.now() - olderThanSeconds * 1000))))
    .limit(limit);
  return rows.map((row) => row.id);
}

/**
 * A payment its payer, its merchant's owner (or an operator or auditor) may see; 404 to
 * everyone else, so ids cannot be probed.
 */
export async function getVisiblePayment(db: Database, principal: Principal, id: string): Promise<PaymentRow> {
  const [row] = await db.select().from(payments).where(eq(payments.id, id));
  const sees =
    row &&
    (row.payerId === principal.subject ||
      row.merchantOwnerId === principal.subject ||
      principal.scopes.has("operator") ||
      principal.scopes.has("auditor"));
  if (!row || !sees) throw new AppError("not_found", `Payment ${id} does not exist.`);
  return row;
}

/** The caller's payments as payer, or (merchant) those made to their merchants; newest first. */
export async function listPayments(
  db: Database,
  principal: Principal,
  page: { limit: number; cursor?: string | undefined; as: "payer" | "merchant"; merchantId?: string | undefined },
) {
  const rows = await db
    .select()
    .from(payments)
    .where(
      and(
        page.as === "payer" ? eq(payments.payerId, principal.subject) : eq(payments.merchantOwnerId, principal.subject),
        page.merchantId ? eq(payments.merchantId, page.merchantId) : undefined,
        page.cursor ? lt(payments.id, page.cursor) : undefined,
      ),
    )
    .orderBy(desc(payments.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map(presentPayment);
  return { items, nextCursor: rows.length > page.limit ? items.at(-1)?.id : undefined };
}
