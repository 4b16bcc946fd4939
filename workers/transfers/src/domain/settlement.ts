import { withDatabase } from "@edgebank/db";
import { countEvent } from "@edgebank/http";
import { newUuidV7 } from "@edgebank/ids";
import { and, eq } from "drizzle-orm";
import { outbox, transfers } from "../db/schema.ts";
import { serviceSettings } from "../service.ts";

const events = { COMPLETED: "TransferCompleted", FAILED: "TransferFailed", NEEDS_ATTENTION: "TransferNeedsAttention" };

/**
 * Records a saga's end: the transfer's status and its event in the outbox, in one transaction,
 * once (only a PENDING transfer moves; a replayed step finds it settled and changes nothing).
 * NEEDS_ATTENTION may later settle as COMPLETED or FAILED when an operator resolves it.
 */
export async function settleTransfer(
  env: object,
  transferId: string,
  outcome: { status: "COMPLETED" } | { status: "FAILED" | "NEEDS_ATTENTION"; reason: string },
  traceparent?: string,
): Promise<void> {
  let settled: { status: string; reason: string; kind: string } | undefined;
  await withDatabase(serviceSettings(env), (db) =>
    db.transaction(async (tx) => {
      const [current] = await tx
        .select({ status: transfers.status })
        .from(transfers)
        .where(eq(transfers.id, transferId))
        .for("update");
      if (!current) throw new Error(`transfer ${transferId} does not exist`);
      const movable =
        current.status === "PENDING" || (current.status === "NEEDS_ATTENTION" && outcome.status !== "NEEDS_ATTENTION");
      if (!movable) return;
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
      if (!row) return;
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
    }),
  );
  // Counted once the change committed: transfers by outcome and reason (NEEDS_ATTENTION alerts).
  if (settled) countEvent(env, "transfers", "transfer_settled", settled);
}
