import {
  type AccountState,
  type AccountStore,
  type CommitBatch,
  type KnownOperation,
  OperationAlreadyRecorded,
} from "@edgebank/durable-objects/account";
import { AppError } from "@edgebank/errors";
import { currentTraceparent } from "@edgebank/telemetry";
import { accountsWriterOf } from "./service.ts";

/**
 * An AccountDO's store: the accounts database through the account's writer (AccountsWriterDO),
 * which commits this account's batches together with other accounts'. What the writer answers
 * in words becomes what AccountCore expects of a store: a missing account is a 404, a journaled
 * operation id is OperationAlreadyRecorded, a stale version is an error (the core reloads).
 */
export class WriterAccountStore implements AccountStore {
  /**
   * Test environments only: the next commit fails before writing anything ("before") or after
   * committing, as if the answer were lost on the way back ("after").
   */
  injectedFault: "before" | "after" | undefined;

  constructor(
    private readonly env: object,
    private readonly accountId: string,
  ) {}

  #writer() {
    return accountsWriterOf(this.env, this.accountId);
  }

  async load(accountId: string): Promise<AccountState> {
    const state = await this.#writer().load(accountId);
    if (!state) throw new AppError("not_found", `Account ${accountId} does not exist.`);
    return state;
  }

  findOperations(accountId: string, operationIds: string[]): Promise<Map<string, KnownOperation>> {
    return this.#writer().findOperations(accountId, operationIds);
  }

  async commit(batch: CommitBatch): Promise<void> {
    const fault = this.injectedFault;
    this.injectedFault = undefined;
    if (fault === "before") throw new Error("injected fault: database unreachable before the commit");
    const outcome = await this.#writer().commit(batch, currentTraceparent());
    const accountId = batch.before.accountId;
    if (outcome === "recorded") {
      throw new OperationAlreadyRecorded(`an operation of this batch is already journaled for ${accountId}`);
    }
    if (outcome === "stale") throw new Error(`account ${accountId} changed under its single writer`);
    if (fault === "after") throw new Error("injected fault: connection lost after the commit");
  }
}
