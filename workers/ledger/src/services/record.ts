import type { LedgerEntry, LedgerEntryInput, RecordResult } from "@edgebank/contracts";
import { isAppError } from "@edgebank/errors";
import { currentTraceparent } from "@edgebank/telemetry";
import { assertBalanced, type RecordedEntry } from "../domain/journal.ts";
import { chainOf } from "../service.ts";

/**
 * Records a completed movement as one balanced entry, once per movement id, and answers the
 * contract's result: applied (or the same entry again, replayed), refused when the postings do
 * not balance, a conflict when the id is recorded with other postings. The chain's one writer
 * (LedgerChainDO) appends it, with the entries of other requests that arrived meanwhile. What
 * throws (a busy chain, an unreachable database) may be retried with the same input.
 */
export async function record(env: object, input: LedgerEntryInput): Promise<RecordResult> {
  try {
    assertBalanced({
      ...input,
      postings: input.postings.map((posting) => ({ ...posting, amount: BigInt(posting.amount) })),
    });
  } catch (error) {
    if (isAppError(error) && error.code === "unprocessable") {
      return { status: "refused", reason: "unbalanced", detail: error.message };
    }
    throw error;
  }
  const entry = {
    transferId: input.transferId,
    description: input.description,
    postings: input.postings.map(({ accountId, amount, currency }) => ({
      accountId,
      amount: String(amount),
      currency,
    })),
  };
  // The RPC's span is the parent of the append's (its batch is traced in its first caller's trace).
  const appended = await chainOf(env).append(entry, currentTraceparent());
  if ("conflict" in appended) return { status: "conflict", detail: appended.conflict };
  return { status: "applied", entry: appended.entry, replayed: appended.replayed };
}

/** An entry as it crosses the wire (amounts and sequence as decimal strings). */
export function presentEntry(entry: RecordedEntry): LedgerEntry {
  return {
    id: entry.id,
    sequence: entry.sequence.toString(),
    transferId: entry.transferId,
    description: entry.description,
    recordedAt: entry.recordedAt.toISOString(),
    previousHash: entry.previousHash,
    hash: entry.hash,
    postings: entry.postings.map((p) => ({
      accountId: p.accountId,
      amount: p.amount.toString(),
      currency: p.currency,
    })),
  };
}
