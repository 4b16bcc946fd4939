import { DurableObject } from "cloudflare:workers";
import { KeptDatabase, openDatabase } from "@edgebank/db";
import type { AccountState, CommitBatch, KnownOperation } from "@edgebank/durable-objects/account";
import { GroupCommit } from "@edgebank/durable-objects/group-commit";
import { traceWork } from "@edgebank/http";
import { type BatchOutcome, commitBatches, findOperations, loadAccounts } from "./repo/account-journal.ts";
import { serviceSettings } from "./service.ts";

/**
 * A writer of the accounts database (one of `ACCOUNTS_WRITERS`, chosen by account id: see
 * `accountsWriterOf`), through which the AccountDOs read and write their accounts. Commits that
 * queue while one is in flight go together as one transaction (a group commit across accounts:
 * each AccountDO already groups its own account's operations), and so do loads (one statement
 * for many evicted accounts coming back), on the one connection pool the writer keeps while busy.
 * So with thousands of active accounts the database sees a few writers' connections and one
 * commit for many accounts' operations, instead of a connection and a commit per account. It
 * holds no state of its own: the AccountDO is still each account's single writer (its batches
 * are guarded by the account's version), and any writer could serve any account.
 */
export class AccountsWriterDO extends DurableObject<Env> {
  readonly #database = new KeptDatabase(() => openDatabase(serviceSettings(this.env)));
  readonly #commits = new GroupCommit<{ batch: CommitBatch; traceparent: string | undefined }, BatchOutcome>((queued) =>
    // One transaction for the group, traced in its first caller's trace (every caller's own
    // trace has its AccountDO span; the group's size and accounts are on this one).
    traceWork(
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
      () =>
        commitBatches(
          this.#database.db(),
          queued.map(({ batch }) => batch),
        ),
    ),
  );
  readonly #loads = new GroupCommit<string, AccountState | undefined>(async (accountIds) => {
    const found = await loadAccounts(this.#database.db(), [...new Set(accountIds)]);
    return accountIds.map((accountId) => found.get(accountId));
  });

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
}
