import { DurableObject } from "cloudflare:workers";
import type { LedgerEntry } from "@edgebank/contracts";
import { KeptDatabase, openDatabase } from "@edgebank/db";
import { ChainWriter } from "@edgebank/durable-objects/ledger";
import { traceWork } from "@edgebank/http";
import { type AppendOutcome, appendEntries, type EntryInput } from "./domain/journal.ts";
import { checkpointKey, serviceSettings } from "./service.ts";
import { presentEntry } from "./services/record.ts";

/** What an append answers across the object's RPC boundary (amounts as decimal strings). */
export type ChainAppend = { entry: LedgerEntry; replayed: boolean } | { conflict: string };

/**
 * The single writer of the ledger's chain (one object, `chainOf`): every entry the ledger
 * records goes through it, and its ChainWriter commits what queued during the last commit as
 * one transaction (one lock of the chain, one commit for many transfers' entries), on a
 * connection it keeps while busy. The advisory lock stays: the cron's checkpoint takes it too.
 */
export class LedgerChainDO extends DurableObject<Env> {
  readonly #database = new KeptDatabase(() => openDatabase(serviceSettings(this.env)));
  readonly #writer = new ChainWriter<{ entry: EntryInput; traceparent: string | undefined }, AppendOutcome>((batch) =>
    // One transaction for the batch, traced in its first caller's trace (every caller's own
    // trace has its RPC span; the batch's size and transfer ids are on this one).
    traceWork(
      "ledger",
      this.env,
      {
        name: "LedgerChainDO append",
        kind: "server",
        parent: batch[0]?.traceparent,
        attributes: {
          "edgebank.ledger.batch": batch.length,
          "edgebank.ledger.transfer_ids": batch.map(({ entry }) => entry.transferId).join(","),
        },
        waitUntil: (promise) => this.ctx.waitUntil(promise),
      },
      async () =>
        appendEntries(
          this.#database.db(),
          batch.map(({ entry }) => entry),
          await checkpointKey(this.env),
        ),
    ),
  );

  /** Appends a balanced entry (the caller checked it balances) with whatever else is waiting. */
  async append(
    input: {
      transferId: string;
      description: string;
      postings: Array<{ accountId: string; amount: string; currency: string }>;
    },
    traceparent?: string,
  ): Promise<ChainAppend> {
    const entry = {
      ...input,
      postings: input.postings.map((posting) => ({ ...posting, amount: BigInt(posting.amount) })),
    };
    const outcome = await this.#writer.submit({ entry, traceparent });
    return "conflict" in outcome ? outcome : { entry: presentEntry(outcome.entry), replayed: outcome.replayed };
  }
}
