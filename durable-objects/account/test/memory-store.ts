import {
  type AccountState,
  type AccountStore,
  type CommitBatch,
  type DecidedOperation,
  type KnownOperation,
  OperationAlreadyRecorded,
} from "../src/index.ts";

/**
 * An AccountStore in memory, with the guarantees the PostgreSQL store must give: a commit is
 * all or nothing, refused unless the account is still at the expected version, and an
 * operation id is journaled at most once per account. Latency and failures can be injected.
 */
export class MemoryStore implements AccountStore {
  accounts = new Map<string, AccountState>();
  journal: Array<DecidedOperation & { accountId: string }> = [];
  latencyMs = 2;
  /** The next commit throws before writing anything. */
  failNextCommit = false;
  /** The next commit writes everything, then throws (an ambiguous commit: the answer was lost). */
  loseNextAnswer = false;
  commits = 0;

  constructor(...accounts: AccountState[]) {
    for (const account of accounts) this.accounts.set(account.accountId, account);
  }

  async load(accountId: string): Promise<AccountState> {
    await this.#wait();
    const account = this.accounts.get(accountId);
    if (!account) throw new Error(`no account ${accountId}`);
    return account;
  }

  async findOperations(accountId: string, operationIds: string[]): Promise<Map<string, KnownOperation>> {
    await this.#wait();
    const found = new Map<string, KnownOperation>();
    for (const entry of this.journal) {
      if (entry.accountId === accountId && operationIds.includes(entry.operation.operationId)) {
        found.set(entry.operation.operationId, { fingerprint: entry.fingerprint, result: entry.result });
      }
    }
    return found;
  }

  async commit({ before, after, decided }: CommitBatch): Promise<void> {
    await this.#wait();
    if (this.failNextCommit) {
      this.failNextCommit = false;
      throw new Error("connection reset");
    }
    const stored = this.accounts.get(before.accountId);
    if (!stored || stored.version !== before.version) throw new Error("version conflict");
    for (const entry of decided) {
      const duplicate = this.journal.some(
        (j) => j.accountId === before.accountId && j.operation.operationId === entry.operation.operationId,
      );
      if (duplicate) throw new OperationAlreadyRecorded(`operation ${entry.operation.operationId} is journaled`);
    }
    this.accounts.set(after.accountId, after);
    for (const entry of decided) this.journal.push({ accountId: before.accountId, ...entry });
    this.commits += 1;
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new Error("connection lost after COMMIT");
    }
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }
}

export function account(overrides: Partial<AccountState> = {}): AccountState {
  return {
    accountId: "acc_test",
    kind: "customer",
    currency: "EUR",
    ownerId: "usr_test",
    status: "active",
    posted: 0n,
    pending: 0n,
    creditLimit: 0n,
    holds: new Map(),
    version: 0n,
    ...overrides,
  };
}
