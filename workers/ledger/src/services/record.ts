import type { LedgerEntry, LedgerEntryInput, RecordResult } from "@edgebank/contracts";
import { withDatabase } from "@edgebank/db";
import { isAppError } from "@edgebank/errors";
import { type RecordedEntry, recordEntry } from "../domain/journal.ts";
import { checkpointKey, serviceSettings } from "../service.ts";

/**
 * Records a completed movement as one balanced entry, once per movement id, and answers the
 * contract's result: applied (or the same entry again, replayed), refused when the postings do
 * not balance, a conflict when the id is recorded with other postings. What throws (a busy
 * chain, an unreachable database) may be retried with the same input.
 */
export async function record(env: object, input: LedgerEntryInput): Promise<RecordResult> {
  const key = await checkpointKey(env);
  try {
    const { entry, replayed } = await withDatabase(serviceSettings(env), (db) =>
      recordEntry(
        db,
        {
          transferId: input.transferId,
          description: input.description,
          postings: input.postings.map((posting) => ({ ...posting, amount: BigInt(posting.amount) })),
        },
        key,
      ),
    );
    return { status: "applied", entry: presentEntry(entry), replayed };
  } catch (error) {
    if (isAppError(error) && error.code === "unprocessable") {
      return { status: "refused", reason: "unbalanced", detail: error.message };
    }
    if (isAppError(error) && error.code === "conflict") return { status: "conflict", detail: error.message };
    throw error;
  }
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
