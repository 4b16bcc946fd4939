import { DurableObject } from "cloudflare:workers";
import { KeptDatabase, openDatabase } from "@edgebank/db";
import type { AccountState, CommitBatch, KnownOperation } from "@edgebank/durable-objects/account";
import { GroupCommit } from "@edgebank/durable-objects/group-commit";
import { traceWork } from "@edgebank/http";
import { pokeOutboxRelay } from "@edgebank/outbox/durable-object";
import { type BatchOutcome, commitBatches, findOperations, loadAccounts } from "./repo/account-journal.ts";
import { serviceSettings } from "./service.ts";

/** One account's batch waiting for its group's commit, with the trace of the operation that asked. */
type Queued = { batch: CommitBatch; traceparent: string | undefined };

/**
 * A writer of the accounts database (one of `ACCOUNTS_WRITERS`, chosen by account id: see
 * `accountsWriterOf`), through which the AccountDOs read and write their accounts. Commits that
 * queue while one is in flight go together as one transaction (a group commit across accounts:
 * each AccountDO already groups its own account's operations), and so do loads (one statement
 * for many evicted accounts coming back), on the one connection pool the writer keeps while busy.
 * So with thousands of active accounts the database sees a few writers' connections and one
 * commit for many accounts' operations, instead of a connection and a commit per account; and
 * the relay object is poked once for a group's events, not once per account. It
 * holds no state of its own: the AccountDO is still each account's single writer (its batches
 * are guarded by the account's version), and any writer could serve any account.
 */
export class AccountsWriterDO extends DurableObject<Env> {
  readonly #database = new KeptDatabase(() => openDatabase(serviceSettings(this.env)));
  readonly #commits = new GroupCommit<Queued, BatchOutcome>((queued) => this.#commitGroup(queued));
  readonly #loads = new GroupCommit<string, AccountState | undefined>(async (accountIds) => {
    const found = await loadAccounts(this.#database.db(), [...new Set(accountIds)]);
    return accountIds.map((accountId) => found.get(accountId));
  });

  /** A poke of the relay object is in flight from this writer; `#relayAgain`: events committed meanwhile. */
  #relaying = false;
  #relayAgain = false;

  /** Commits one account's batch with whatever else is waiting; what it came to (see BatchOutcome). */
  commit(batch: CommitBatch, traceparent?: string): Promise<BatchOutcome> {
    return this.#commits.submit({ batch, traceparent });
  }

  /** The account with its open holds (undefined: no such account), read with the other loads waiting. */
  load(accountId: string): Promise<AccountState | undefined> {
    return this.#loads.submit(accountId);
  }

  /** Outcomes already journaled for these operation ids of an account. */
  findOperations(accountId: string, operationIds: string[]): Promise<Map<string, KnownOperation>> {
    return findOperations(this.#database.db(), accountId, operationIds);
  }

  /**
   * One transaction for the group, traced in its first caller's trace (every caller's own trace
   * has its AccountDO span; the group's size and accounts are on this one); then the relay, if
   * it committed events.
   */
  #commitGroup(queued: Queued[]): Promise<BatchOutcome[]> {
    return traceWork(
      "accounts",
      this.env,
      {
        name: "AccountsWriterDO commit",
        kind: "server",
        parent: queued[0]?.traceparent,
        attributes: {
          "edgebank.accounts.batch": queued.length,
          "edgebank.account_ids": queued.map(({ batch }) => batch.before.accountId).join(","),
        },
        waitUntil: (promise) => this.ctx.waitUntil(promise),
      },
      async () => {
        const outcomes = await commitBatches(
          this.#database.db(),
          queued.map(({ batch }) => batch),
        );
        const published = queued.some(
          ({ batch }, n) =>
            outcomes[n] === "committed" && batch.decided.some(({ result }) => result.status === "applied"),
        );
        if (published) this.#relaySoon(queued[0]?.traceparent);
        return outcomes;
      },
    );
  }

  /**
   * Has the events just committed published, after the answers: the service's relay object
   * relays for every account at once. At most one poke per writer in flight, once more when
   * events were committed meanwhile: one poke for many accounts' commits, where each AccountDO
   * used to poke for its own. The cron sweeps what is left.
   */
  #relaySoon(traceparent: string | undefined): void {
    if (this.#relaying) {
      this.#relayAgain = true;
      return;
    }
    this.#relaying = true;
    this.ctx.waitUntil(
      (async () => {
        try {
          for (let round = 0; round < 5; round++) {
            this.#relayAgain = false;
            await pokeOutboxRelay(this.env.OUTBOX_RELAY, "accounts", traceparent);
            if (!this.#relayAgain) break;
          }
        } catch {
          // The relay object could not be reached: the events wait for the cron sweeper.
        } finally {
          this.#relaying = false;
        }
      })(),
    );
  }
}
