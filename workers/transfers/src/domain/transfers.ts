import type { Principal } from "@edgebank/auth";
import type { Database } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { ABANDONED_AFTER_MS, inProgress } from "@edgebank/service/idempotency";
import { and, desc, eq, lt } from "drizzle-orm";
import { idempotencyRecords, type TransferStatus, transferActions, transfers } from "../db/schema.ts";

export type TransferRow = typeof transfers.$inferSelect;

export interface TransferInput {
  kind: "transfer" | "deposit" | "withdrawal";
  fromAccountId: string;
  toAccountId: string;
  amount: bigint;
  currency: string;
  description: string;
}

export function presentTransfer(row: TransferRow) {
  return {
    id: row.id,
    kind: row.kind,
    fromAccountId: row.fromAccountId,
    toAccountId: row.toAccountId,
    amount: row.amount.toString(),
    currency: row.currency,
    description: row.description,
    status: row.status,
    ...(row.failureReason ? { failureReason: row.failureReason } : {}),
    createdAt: row.createdAt.toISOString(),
    ...(row.completedAt ? { completedAt: row.completedAt.toISOString() } : {}),
  };
}

export type Begun =
  | { kind: "new"; transfer: TransferRow }
  | { kind: "resume"; transfer: TransferRow }
  | { kind: "settled"; transfer: TransferRow }
  | { kind: "replay"; status: number; body: Record<string, unknown> };

/**
 * The durable side of an Idempotency-Key: the first request with a key creates its record and
 * the transfer `id` (drawn by the caller, so it names the saga's host before anything is
 * written) in one transaction; a repeat with the same fingerprint gets the stored response
 * (or 409 while the first is still running, or resumes it if the first died); a repeat with
 * another fingerprint is a 422. Unique per (caller, key): a second concurrent insert waits for
 * the first and then sees its record.
 */
export async function beginTransfer(
  db: Database,
  request: { requestedBy: string; key: string; fingerprint: string },
  id: string,
  input: TransferInput,
): Promise<Begun> {
  const { requestedBy, key, fingerprint } = request;
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(idempotencyRecords)
      .values({ principal: requestedBy, key, fingerprint, transferId: id })
      .onConflictDoNothing()
      .returning({ transferId: idempotencyRecords.transferId });
    if (inserted.length === 1) {
      const [transfer] = await tx
        .insert(transfers)
        .values({ id, requestedBy, ...input })
        .returning();
      if (!transfer) throw new Error("transfer insert returned nothing");
      return { kind: "new" as const, transfer };
    }
    const [record] = await tx
      .select()
      .from(idempotencyRecords)
      .where(and(eq(idempotencyRecords.principal, requestedBy), eq(idempotencyRecords.key, key)));
    if (!record) throw inProgress("The Idempotency-Key is being used by another request; retry.");
    if (record.fingerprint !== fingerprint) {
      throw new AppError("unprocessable", "This Idempotency-Key was used with another request.", {
        extensions: { reason: "idempotency_key_reused" },
      });
    }
    // Only final answers are kept; a 202 stored by an earlier version is not one.
    if (record.responseStatus !== null && record.responseStatus !== 202 && record.responseBody !== null) {
      return { kind: "replay" as const, status: record.responseStatus, body: record.responseBody };
    }
    const [transfer] = await tx.select().from(transfers).where(eq(transfers.id, record.transferId));
    if (!transfer) throw new Error(`idempotency record without its transfer ${record.transferId}`);
    // The first request's answer was lost (or was a 202), but the saga has finished: its outcome is the answer.
    if (transfer.status === "COMPLETED" || transfer.status === "FAILED") return { kind: "settled" as const, transfer };
    if (Date.now() - record.createdAt.getTime() < ABANDONED_AFTER_MS) {
      throw inProgress("A request with this Idempotency-Key is still in progress.");
    }
    return { kind: "resume" as const, transfer };
  });
}

/** Stores the final response of a key's first request (what every repeat will get). */
export async function storeResponse(
  db: Database,
  requestedBy: string,
  key: string,
  status: number,
  body: Record<string, unknown>,
): Promise<void> {
  await db
    .update(idempotencyRecords)
    .set({ responseStatus: status, responseBody: body })
    .where(and(eq(idempotencyRecords.principal, requestedBy), eq(idempotencyRecords.key, key)));
}

/**
 * An operator takes a transfer out of NEEDS_ATTENTION to run its saga again (retry) or to undo
 * it (compensate): the row goes back to PENDING and the action is recorded with who did it, in
 * one transaction; 409 otherwise.
 */
export async function resumeTransfer(
  db: Database,
  principal: Principal,
  id: string,
  action: "retry" | "compensate",
): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(transfers)
      .set({ status: "PENDING", failureReason: null, updatedAt: new Date() })
      .where(and(eq(transfers.id, id), eq(transfers.status, "NEEDS_ATTENTION")))
      .returning({ id: transfers.id });
    if (!row) throw new AppError("conflict", `Transfer ${id} does not need attention.`);
    await tx
      .insert(transferActions)
      .values({ id: newId("transferAction"), transferId: id, actor: principal.subject, action });
  });
}

const seesEverything = (principal: Principal) => principal.scopes.has("operator") || principal.scopes.has("auditor");

/** A transfer its requester (or an operator or auditor) may see; 404 to everyone else. */
export async function getVisibleTransfer(db: Database, principal: Principal, id: string): Promise<TransferRow> {
  const [row] = await db.select().from(transfers).where(eq(transfers.id, id));
  if (!row || !(row.requestedBy === principal.subject || seesEverything(principal))) {
    throw new AppError("not_found", `Transfer ${id} does not exist.`);
  }
  return row;
}

/** The caller's transfers (operators and auditors: everyone's), newest first, before `cursor`. */
export async function listTransfers(
  db: Database,
  principal: Principal,
  page: { limit: number; cursor?: string | undefined; status?: TransferStatus | undefined },
) {
  const rows = await db
    .select()
    .from(transfers)
    .where(
      and(
        seesEverything(principal) ? undefined : eq(transfers.requestedBy, principal.subject),
        page.status ? eq(transfers.status, page.status) : undefined,
        page.cursor ? lt(transfers.id, page.cursor) : undefined,
      ),
    )
    .orderBy(desc(transfers.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, nextCursor: rows.length > page.limit ? items.at(-1)?.id : undefined };
}
