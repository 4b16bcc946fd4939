import type { Database } from "@edgebank/db";
import type { TransferSubject } from "@edgebank/durable-objects/transfer";
import { countEvent } from "@edgebank/http";
import { newUuidV7 } from "@edgebank/ids";
import { and, eq } from "drizzle-orm";
import { idempotencyRecords, outbox, transfers } from "../db/schema.ts";
import { isFinal, type TransferAnswer, transferAnswer } from "./answers.ts";
import type { TransferRow } from "./transfers.ts";

const events = { COMPLETED: "TransferCompleted", FAILED: "TransferFailed", NEEDS_ATTENTION: "TransferNeedsAttention" };

/**
 * Records a saga's end: the transfer's status and its event in the outbox, and the request's
 * final answer under its Idempotency-Key (`answerTo`), in one transaction, once (only a
 * PENDING transfer moves; a replayed step finds it settled and changes nothing).
 * NEEDS_ATTENTION may later settle as COMPLETED or FAILED when an operator resolves it.
 * Answers what the request is told, from the row as it now stands.
 */
export async function settleTransfer(
  db: Database,
  env: object,
  transferId: string,
  outcome: { status: "COMPLETED" } | { status: "FAILED" | "NEEDS_ATTENTION"; reason: string },
  traceparent?: string,
  answerTo?: TransferSubject["answerTo"],
): Promise<TransferAnswer> {
  let settled: { status: string; reason: string; kind: string } | undefined;
  const answer = await db.transaction(async (tx) => {
    const [current] = await tx.select().from(transfers).where(eq(transfers.id, transferId)).for("update");
    if (!current) throw new Error(`transfer ${transferId} does not exist`);
    const movable =
      current.status === "PENDING" || (current.status === "NEEDS_ATTENTION" && outcome.status !== "NEEDS_ATTENTION");
    if (!movable) return answerOf(current, answerTo);
    const [row] = await tx
      .update(transfers)
      .set({
        status: outcome.status,
        failureReason: outcome.status === "COMPLETED" ? null : outcome.reason,
        updatedAt: new Date(),
        ...(outcome.status === "COMPLETED" ? { completedAt: new Date() } : {}),
      })
      .where(and(eq(transfers.id, transferId), eq(transfers.status, current.status)))
      .returning();
    if (!row) return answerOf(current, answerTo);
    await tx.insert(outbox).values({
      id: newUuidV7(),
      aggregateId: transferId,
      type: events[outcome.status],
      traceparent: traceparent ?? null,
      payload: {
        transferId,
        fromAccountId: row.fromAccountId,
        toAccountId: row.toAccountId,
        amount: row.amount.toString(),
        currency: row.currency,
        status: row.status,
        kind: row.kind,
        requestedBy: row.requestedBy,
        ...(row.failureReason ? { reason: row.failureReason } : {}),
      },
    });
    settled = { status: row.status, reason: row.failureReason ?? "", kind: row.kind };
    const answer = answerOf(row, answerTo);
    if (answerTo && isFinal(answer)) {
      await tx
        .update(idempotencyRecords)
        .set({ responseStatus: answer.status, responseBody: answer.body })
        .where(
          and(
            eq(idempotencyRecords.principal, answerTo.principal),
            eq(idempotencyRecords.key, answerTo.key),
            eq(idempotencyRecords.transferId, transferId),
          ),
        );
    }
    return answer;
  });
  // Counted once the change committed: transfers by outcome and reason (NEEDS_ATTENTION alerts).
  if (settled) countEvent(env, "transfers", "transfer_settled", settled);
  return answer;
}

/** The request's answer from the row (without a request to answer: as an operator's read would see it). */
function answerOf(row: TransferRow, answerTo: TransferSubject["answerTo"]): TransferAnswer {
  return transferAnswer(row, answerTo ?? { instance: `/v1/transfers/${row.id}`, requestId: "" });
}
