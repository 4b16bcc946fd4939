import { type Database, databaseError, resultRows, withTransaction } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { asc, desc, eq, sql } from "drizzle-orm";
import { checkpoints, entries, postings } from "../db/schema.ts";
import { type ChainedEntry, type CheckpointKey, entryHash, GENESIS_HASH, signCheckpoint } from "./chain.ts";

/** A checkpoint is signed every this many entries (and by the cron in between). */
export const CHECKPOINT_EVERY = 100n;

export interface PostingInput {
  accountId: string;
  amount: bigint;
  currency: string;
}

export interface EntryInput {
  transferId: string;
  description: string;
  postings: PostingInput[];
}

export interface RecordedEntry extends ChainedEntry {
  previousHash: string;
  hash: string;
}

/**
 * Refuses what the database would refuse anyway, with a clear answer: fewer than two legs, a
 * zero amount, or legs that do not sum to zero in every currency.
 */
export function assertBalanced(input: EntryInput): void {
  if (input.postings.length < 2) throw new AppError("unprocessable", "An entry needs at least two postings.");
  const totals = new Map<string, bigint>();
  for (const posting of input.postings) {
    if (posting.amount === 0n) throw new AppError("unprocessable", "A posting's amount cannot be zero.");
    totals.set(posting.currency, (totals.get(posting.currency) ?? 0n) + posting.amount);
  }
  const unbalanced = [...totals].filter(([, total]) => total !== 0n);
  if (unbalanced.length > 0) {
    throw new AppError(
      "unprocessable",
      `The postings do not balance: ${unbalanced.map(([currency, total]) => `${currency} ${total}`).join(", ")}.`,
      { extensions: { reason: "unbalanced" } },
    );
  }
}

/** Whether a stored entry is the same movement as `input` (a replay), not a different one. */
function sameMovement(stored: RecordedEntry, input: EntryInput): boolean {
  const key = (p: PostingInput) => `${p.accountId}|${p.currency}|${p.amount}`;
  const a = stored.postings.map(key).sort();
  const b = input.postings.map(key).sort();
  return stored.description === input.description && a.length === b.length && a.every((value, i) => value === b[i]);
}

/** What an append answers: the entry (recorded now, or already: a replay), or why it was not. */
export type AppendOutcome = { entry: RecordedEntry; replayed: boolean } | { conflict: string };

/**
 * Appends balanced entries (see assertBalanced) at the head of the chain in the order given, once
 * per transfer id, in one transaction: the chain's lock taken once, its head and the inputs'
 * transfer ids read in one statement, every entry with its postings written, and a signed checkpoint at each
 * CHECKPOINT_EVERY-th sequence. One outcome per input, in order: an id already recorded (before,
 * or earlier in the same batch) is a replay when its content is the same, else a conflict. The
 * ledger's chain writer (LedgerChainDO) calls this with everything that queued during the last
 * commit (group commit).
 */
export async function appendEntries(db: Database, inputs: EntryInput[], key: CheckpointKey): Promise<AppendOutcome[]> {
  return appendUnderLock(db, inputs, key).catch((error: unknown) => {
    if (databaseError(error)?.code === "55P03") {
      throw new AppError("dependency_unavailable", "The ledger is busy; retry the same request.", { cause: error });
    }
    throw error;
  });
}

async function appendUnderLock(db: Database, inputs: EntryInput[], key: CheckpointKey): Promise<AppendOutcome[]> {
  return withTransaction(db, async (tx) => {
    // Every append waits for the one before it to commit, so the chain is held for as few round
    // trips as the append allows: take it, read, write, commit.
    //
    // Waiting for the chain is bounded: under a pile-up the caller gets a retryable 503 rather
    // than holding a pooled connection until its own timeout. The bound is set in the statement
    // that takes the lock (its FROM row is computed before the lock is asked for).
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended('edgebank.ledger.chain', 0))
          from (select set_config('lock_timeout', '3s', true)) as bounded`,
    );
    // A statement that started before the lock was granted would not see the entry committed
    // just before it: what the append reads is read after the lock, in one statement.
    const ids = [...new Set(inputs.map((input) => input.transferId))];
    const rows = resultRows<{ at: string; hash: string; transfer_id: string; recorded: boolean }>(
      await tx.execute(sql`
        (select sequence::text as at, hash, transfer_id, true as recorded from ${entries}
          where transfer_id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::text::jsonb)))
        union all
        (select sequence::text as at, hash, transfer_id, false as recorded from ${entries}
          order by sequence desc limit 1)`),
    );
    const head = rows.find((row) => !row.recorded);
    const recorded = new Set(rows.filter((row) => row.recorded).map((row) => row.transfer_id));
    const inBatch = new Map<string, RecordedEntry>();
    let previousHash = head?.hash ?? GENESIS_HASH;
    let sequence = BigInt(head?.at ?? 0);
    const outcomes: AppendOutcome[] = [];
    for (const input of inputs) {
      const existing =
        inBatch.get(input.transferId) ??
        (recorded.has(input.transferId)
          ? await findEntry(tx as unknown as Database, { transferId: input.transferId })
          : undefined);
      if (existing) {
        outcomes.push(
          sameMovement(existing, input)
            ? { entry: existing, replayed: true }
            : { conflict: `Transfer ${input.transferId} is already recorded with other postings.` },
        );
        continue;
      }
      sequence += 1n;
      const chained: ChainedEntry = {
        sequence,
        id: newId("ledgerEntry"),
        transferId: input.transferId,
        description: input.description,
        recordedAt: new Date(),
        postings: input.postings.map((p, leg) => ({ leg, ...p })),
      };
      const hash = await entryHash(previousHash, chained);
      await insertEntry(tx as unknown as Database, { ...chained, previousHash, hash });
      if (chained.sequence % CHECKPOINT_EVERY === 0n) {
        await tx.insert(checkpoints).values({
          sequence: chained.sequence,
          hash,
          keyId: key.id,
          signature: await signCheckpoint(key, chained.sequence, hash),
        });
      }
      const entry = { ...chained, previousHash, hash };
      inBatch.set(input.transferId, entry);
      outcomes.push({ entry, replayed: false });
      previousHash = hash;
    }
    return outcomes;
  });
}

/** An entry and its postings in one statement (the deferred balance check runs at COMMIT). */
async function insertEntry(db: Database, entry: RecordedEntry): Promise<void> {
  const legs = JSON.stringify(
    entry.postings.map((p) => ({
      leg: p.leg,
      account_id: p.accountId,
      amount: p.amount.toString(),
      currency: p.currency,
    })),
  );
  await db.execute(sql`
    with entry as (
      insert into ${entries} (sequence, id, transfer_id, description, recorded_at, previous_hash, hash)
      values (${entry.sequence.toString()}::bigint, ${entry.id}, ${entry.transferId},
              ${entry.description}, ${entry.recordedAt.toISOString()}::timestamptz, ${entry.previousHash}, ${entry.hash})
      returning sequence
    )
    insert into ${postings} (entry_sequence, leg, account_id, amount, currency)
    select entry.sequence, leg.leg, leg.account_id, leg.amount, leg.currency
    from entry, jsonb_to_recordset(${legs}::text::jsonb)
      as leg(leg bigint, account_id text, amount bigint, currency text)`);
}

/** One entry with its postings, by transfer id or sequence. */
export async function findEntry(
  db: Database,
  by: { transferId: string } | { sequence: bigint },
): Promise<RecordedEntry | undefined> {
  const [row] = await db
    .select()
    .from(entries)
    .where("transferId" in by ? eq(entries.transferId, by.transferId) : eq(entries.sequence, by.sequence));
  if (!row) return undefined;
  const legs = await db
    .select()
    .from(postings)
    .where(eq(postings.entrySequence, row.sequence))
    .orderBy(asc(postings.leg));
  return {
    ...row,
    postings: legs.map((p) => ({ leg: p.leg, accountId: p.accountId, amount: p.amount, currency: p.currency })),
  };
}

/**
 * Signs the chain head now if it has no checkpoint yet (the cron's job, so a quiet ledger is
 * still anchored). Returns the sequence signed, or undefined when there was nothing new.
 */
export async function checkpointHead(db: Database, key: CheckpointKey): Promise<bigint | undefined> {
  return withTransaction(db, async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('edgebank.ledger.chain', 0))`);
    const [head] = await tx
      .select({ sequence: entries.sequence, hash: entries.hash })
      .from(entries)
      .orderBy(desc(entries.sequence))
      .limit(1);
    if (!head) return undefined;
    const [signed] = await tx
      .select({ sequence: checkpoints.sequence })
      .from(checkpoints)
      .where(eq(checkpoints.sequence, head.sequence));
    if (signed) return undefined;
    await tx.insert(checkpoints).values({
      sequence: head.sequence,
      hash: head.hash,
      keyId: key.id,
      signature: await signCheckpoint(key, head.sequence, head.hash),
    });
    return head.sequence;
  });
}
