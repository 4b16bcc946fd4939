import type { Database } from "@edgebank/db";
import { and, asc, gt, lte } from "drizzle-orm";
import { checkpoints, entries, postings } from "../db/schema.ts";
import { type CheckpointKey, checkpointSignatureValid, entryHash, GENESIS_HASH } from "./chain.ts";

export type BreakReason =
  | "sequence_gap"
  | "previous_hash_mismatch"
  | "content_hash_mismatch"
  | "checkpoint_signature_invalid"
  | "checkpoint_hash_mismatch"
  | "checkpoint_beyond_head";

export interface VerificationReport {
  valid: boolean;
  /** Entries checked, and the head they end at. */
  entries: number;
  head: { sequence: string; hash: string } | null;
  checkpoints: number;
  /** The first link that does not hold, if any. */
  firstBreak?: { sequence: string; reason: BreakReason; detail: string };
}

const PAGE = 500;

/**
 * Recomputes the whole chain from the first entry: every sequence follows the last, every
 * entry names the previous entry's hash, and every stored hash equals the hash of the entry's
 * content as stored now (so a changed amount, account, description or time shows up at that
 * entry). Then every checkpoint must carry a valid signature and match the recomputed chain.
 */
export async function verifyChain(db: Database, key: CheckpointKey): Promise<VerificationReport> {
  const recomputed = new Map<bigint, string>();
  let previousHash = GENESIS_HASH;
  let previousSequence = 0n;
  let count = 0;
  let head: VerificationReport["head"] = null;
  const broken = (sequence: bigint, reason: BreakReason, detail: string) =>
    ({ sequence: sequence.toString(), reason, detail }) as const;

  const signed = await db.select().from(checkpoints).orderBy(asc(checkpoints.sequence));
  const wanted = new Set(signed.map((c) => c.sequence));
  let firstBreak: VerificationReport["firstBreak"];

  for (;;) {
    const page = await db
      .select()
      .from(entries)
      .where(gt(entries.sequence, previousSequence))
      .orderBy(asc(entries.sequence))
      .limit(PAGE);
    if (page.length === 0) break;
    const last = page.at(-1)?.sequence ?? previousSequence;
    const legs = await db
      .select()
      .from(postings)
      .where(and(gt(postings.entrySequence, previousSequence), lte(postings.entrySequence, last)))
      .orderBy(asc(postings.entrySequence), asc(postings.leg));
    const legsOf = new Map<bigint, typeof legs>();
    for (const leg of legs) {
      const list = legsOf.get(leg.entrySequence);
      if (list) list.push(leg);
      else legsOf.set(leg.entrySequence, [leg]);
    }

    for (const row of page) {
      count += 1;
      if (row.sequence !== previousSequence + 1n) {
        firstBreak ??= broken(row.sequence, "sequence_gap", `expected entry ${previousSequence + 1n}`);
      } else if (row.previousHash !== previousHash) {
        firstBreak ??= broken(row.sequence, "previous_hash_mismatch", "it does not name the previous entry's hash");
      }
      const hash = await entryHash(row.previousHash, {
        ...row,
        postings: (legsOf.get(row.sequence) ?? []).map((p) => ({
          leg: p.leg,
          accountId: p.accountId,
          amount: p.amount,
          currency: p.currency,
        })),
      });
      if (hash !== row.hash) {
        firstBreak ??= broken(row.sequence, "content_hash_mismatch", "its content no longer matches its hash");
      }
      if (wanted.has(row.sequence)) recomputed.set(row.sequence, row.hash);
      previousHash = row.hash;
      previousSequence = row.sequence;
      head = { sequence: row.sequence.toString(), hash: row.hash };
    }
    if (firstBreak) break;
  }

  if (!firstBreak) {
    for (const checkpoint of signed) {
      if (!(await checkpointSignatureValid(key, checkpoint))) {
        firstBreak = broken(
          checkpoint.sequence,
          "checkpoint_signature_invalid",
          "the checkpoint's signature is invalid",
        );
      } else if (!recomputed.has(checkpoint.sequence)) {
        firstBreak = broken(checkpoint.sequence, "checkpoint_beyond_head", "the checkpoint names a missing entry");
      } else if (recomputed.get(checkpoint.sequence) !== checkpoint.hash) {
        firstBreak = broken(checkpoint.sequence, "checkpoint_hash_mismatch", "the chain differs from what was signed");
      }
      if (firstBreak) break;
    }
  }
  return {
    valid: firstBreak === undefined,
    entries: count,
    head,
    checkpoints: signed.length,
    ...(firstBreak ? { firstBreak } : {}),
  };
}
