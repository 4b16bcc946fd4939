import { AppError, isAppError } from "@edgebank/errors";
import { type AccountState, apply, fingerprint, type Operation, type OperationResult } from "./operations.ts";

/** An operation decided in a batch, as the store persists it (journal row, outbox row). */
export interface DecidedOperation {
  operation: Operation;
  fingerprint: string;
  result: OperationResult;
}

/** A remembered outcome of an operation id. */
export interface KnownOperation {
  fingerprint: string;
  result: OperationResult;
}

/** Where the account lives durably (PostgreSQL in production). */
export interface AccountStore {
  /** The account's current state; throws when the account does not exist. */
  load(accountId: string): Promise<AccountState>;
  /** Outcomes already persisted for these operation ids (after an eviction, a retry finds them here). */
  findOperations(accountId: string, operationIds: string[]): Promise<Map<string, KnownOperation>>;
  /**
   * Persists one batch atomically: the account as `after`, every decided operation. Must fail,
   * changing nothing, unless the stored account is still at `before.version`; and must throw
   * OperationAlreadyRecorded, changing nothing, if one of the operation ids is already journaled.
   */
  commit(batch: CommitBatch): Promise<void>;
}

/**
 * A commit found an operation id already journaled: an operation this instance does not
 * remember (it was evicted or restarted, or the id fell out of memory) was retried. Nothing of
 * the batch was written; the core looks the ids up and decides the batch again.
 */
export class OperationAlreadyRecorded extends Error {
  override readonly name = "OperationAlreadyRecorded";
}

/** One group commit: the account before and after the batch, and every operation it decided. */
export interface CommitBatch {
  before: AccountState;
  after: AccountState;
  decided: DecidedOperation[];
}

interface Waiting {
  operation: Operation;
  fingerprint: string;
  resolve: (result: OperationResult) => void;
  reject: (error: unknown) => void;
}

/** How many recent outcomes are kept in memory; older ones are found in the store. */
const REMEMBERED = 10_000;

/**
 * The single writer of one account. Operations are queued; while one batch is being committed,
 * new ones wait, and the next batch takes them all at once (group commit: one transaction for
 * many operations, each caller its own result, a refusal never failing the others). An
 * operation id seen before returns its first outcome and is never applied twice; the same id
 * with other parameters is a conflict. A failed commit fails its whole batch with a retryable
 * error and leaves the in-memory state untouched: it is reloaded from the store before the next
 * batch, so an ambiguous commit is resolved by what the store actually holds.
 */
export class AccountCore {
  #state: AccountState | undefined;
  #queue: Waiting[] = [];
  #running = false;
  #known = new Map<string, KnownOperation>();
  /** Batches committed (for metrics and tests). */
  commits = 0;

  constructor(
    readonly accountId: string,
    private readonly store: AccountStore,
    private readonly options: { maxBatch: number } = { maxBatch: 256 },
  ) {}

  /** The state as of the last committed batch (loaded on first use). */
  async state(): Promise<AccountState> {
    this.#state ??= await this.store.load(this.accountId);
    return this.#state;
  }

  submit(operation: Operation): Promise<OperationResult> {
    const invalid = validate(operation);
    if (invalid) return Promise.reject(new AppError("validation_failed", invalid));
    return new Promise((resolve, reject) => {
      this.#queue.push({ operation, fingerprint: fingerprint(operation), resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.options.maxBatch);
        try {
          await this.#process(batch);
        } catch (error) {
          this.#state = undefined; // reload: the store is the truth after a failed or ambiguous commit
          // A refusal the store states itself (e.g. no such account) is final; anything else is
          // the database failing, and the caller should retry with the same operation id.
          const failure =
            isAppError(error) && !error.retryable
              ? error
              : new AppError(
                  "dependency_unavailable",
                  "The operation could not be recorded; retry it with the same operation id.",
                  {
                    cause: error,
                  },
                );
          for (const waiting of batch) waiting.reject(failure);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  /**
   * Decides and commits one batch. Optimistic: operation ids are not looked up in the store
   * first (that would cost a round trip per batch); the journal's uniqueness refuses a commit
   * that repeats one, and only then are the batch's unremembered ids looked up and the batch
   * decided again, answering them with their recorded outcome.
   */
  async #process(batch: Waiting[]): Promise<void> {
    const before = await this.state();
    let persisted = new Map<string, KnownOperation>();
    let plan = this.#decide(before, batch, persisted);
    if (plan.decided.length > 0) {
      try {
        await this.store.commit({ before, after: plan.after, decided: plan.decided });
      } catch (error) {
        if (!(error instanceof OperationAlreadyRecorded)) throw error;
        const unknownIds = [...new Set(batch.map((w) => w.operation.operationId).filter((id) => !this.#known.has(id)))];
        persisted = await this.store.findOperations(this.accountId, unknownIds);
        plan = this.#decide(before, batch, persisted);
        if (plan.decided.length > 0) await this.store.commit({ before, after: plan.after, decided: plan.decided });
      }
      if (plan.decided.length > 0) {
        this.commits += 1;
        this.#state = plan.after;
      }
    }
    for (const [id, outcome] of [...persisted, ...plan.outcomes]) this.#remember(id, outcome);
    for (const answer of plan.answers) answer();
  }

  /** Applies the batch to `before` in memory: what to commit, and what to tell each caller. */
  #decide(before: AccountState, batch: Waiting[], persisted: Map<string, KnownOperation>) {
    let state = before;
    const decided: DecidedOperation[] = [];
    const outcomes = new Map<string, KnownOperation>();
    const answers: Array<() => void> = [];
    for (const waiting of batch) {
      const id = waiting.operation.operationId;
      const seen = outcomes.get(id) ?? this.#known.get(id) ?? persisted.get(id);
      if (seen) {
        answers.push(
          seen.fingerprint === waiting.fingerprint
            ? () => waiting.resolve(seen.result)
            : () => waiting.reject(new AppError("conflict", `Operation ${id} was already used with other parameters.`)),
        );
        continue;
      }
      const next = apply(state, waiting.operation);
      state = next.state;
      const outcome = { fingerprint: waiting.fingerprint, result: next.result };
      outcomes.set(id, outcome);
      decided.push({ operation: waiting.operation, ...outcome });
      answers.push(() => waiting.resolve(next.result));
    }
    return { after: { ...state, version: before.version + 1n }, decided, outcomes, answers };
  }

  #remember(id: string, outcome: KnownOperation): void {
    this.#known.delete(id);
    this.#known.set(id, outcome);
    if (this.#known.size > REMEMBERED) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
  }
}

const operationIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** What no store should ever see: malformed ids and non-positive amounts. */
function validate(op: Operation): string | undefined {
  if (!operationIdPattern.test(op.operationId))
    return "The operation id must be 1 to 128 characters of [A-Za-z0-9._:-].";
  if ("amount" in op && op.amount !== undefined && op.amount <= 0n)
    return "The amount must be a positive number of minor units.";
  if ("holdId" in op && !operationIdPattern.test(op.holdId))
    return "The hold id must be 1 to 128 characters of [A-Za-z0-9._:-].";
  return undefined;
}
