import type { AccountOperation } from "@edgebank/contracts";
import type { FlowState, FlowStorage } from "@edgebank/durable-objects/flow";
import type { StepOutcome, TransferPorts, TransferStep, TransferSubject } from "../src/index.ts";

/** A transient failure, as the shell's RPC client throws one. */
export class Unavailable extends Error {}

/** A Durable Object's storage and alarm, in memory; it outlives the machines built over it (a crash). */
export class MemoryStorage<S extends string = TransferStep, D = TransferSubject> implements FlowStorage<S, D> {
  state: FlowState<S, D> | undefined;
  wakeAts: number[] = [];
  saves = 0;
  async load() {
    return this.state === undefined ? undefined : structuredClone(this.state);
  }
  async save(state: FlowState<S, D>) {
    this.saves += 1;
    this.state = structuredClone(state);
  }
  async wakeAt(atMs: number) {
    this.wakeAts.push(atMs);
  }
  cancelled = 0;
  async cancelWake() {
    this.cancelled += 1;
  }
}

/**
 * Accounts, a ledger and transfer (payment, refund) rows in memory, answering as the services do: an operation id
 * answers its first outcome forever (never applied twice). `failNext` makes the next calls
 * throw as an unreachable service would; `crashAfterNext` applies the next call, then throws (its
 * answer lost).
 */
export class World implements TransferPorts {
  balances = new Map<string, bigint>();
  holds = new Map<string, { accountId: string; amount: bigint }>();
  frozen = new Set<string>();
  /** Who owns an account (holds for a user check it); unlisted accounts belong to `usr_owner`. */
  owners = new Map<string, string>();
  answered = new Map<string, StepOutcome>();
  /** Every operation applied (not replayed), by id. */
  applied: string[] = [];
  ledger: Array<{ transferId: string }> = [];
  settled: Array<{ transferId: string; status: string; reason?: string }> = [];
  failNext = 0;
  crashAfterNext = false;
  refuseLedger = false;

  constructor(balances: Record<string, bigint>) {
    for (const [id, amount] of Object.entries(balances)) this.balances.set(id, amount);
  }

  #fault<T>(work: () => T): T {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Unavailable("service unavailable");
    }
    const result = work();
    if (this.crashAfterNext) {
      this.crashAfterNext = false;
      throw new Error("crashed after the side effect");
    }
    return result;
  }

  async operate(accountId: string, operation: AccountOperation): Promise<StepOutcome> {
    return this.#fault(() => {
      const key = `${accountId}/${operation.operationId}`;
      const known = this.answered.get(key);
      if (known) return known;
      const outcome = this.#apply(accountId, operation);
      this.answered.set(key, outcome);
      if (outcome.kind === "applied") this.applied.push(operation.operationId);
      return outcome;
    });
  }

  #apply(accountId: string, operation: AccountOperation): StepOutcome {
    const balance = this.balances.get(accountId);
    if (balance === undefined) return { kind: "not_found" };
    const held = [...this.holds.values()].filter((hold) => hold.accountId === accountId);
    const available = balance - held.reduce((sum, hold) => sum + hold.amount, 0n);
    switch (operation.kind) {
      case "credit":
        if (operation.requireActive && this.frozen.has(accountId)) return { kind: "refused", reason: "account_frozen" };
        this.balances.set(accountId, balance + BigInt(operation.amount));
        return { kind: "applied" };
      case "debit":
        if (available < BigInt(operation.amount)) return { kind: "refused", reason: "insufficient_funds" };
        this.balances.set(accountId, balance - BigInt(operation.amount));
        return { kind: "applied" };
      case "hold":
        if (operation.ownedBy !== undefined && (this.owners.get(accountId) ?? "usr_owner") !== operation.ownedBy) {
          return { kind: "refused", reason: "not_owner" };
        }
        if (available < BigInt(operation.amount)) return { kind: "refused", reason: "insufficient_funds" };
        this.holds.set(operation.holdId, { accountId, amount: BigInt(operation.amount) });
        return { kind: "applied" };
      case "capture": {
        const hold = this.holds.get(operation.holdId);
        if (!hold) return { kind: "refused", reason: "hold_not_found" };
        this.holds.delete(operation.holdId);
        this.balances.set(accountId, balance - hold.amount);
        return { kind: "applied" };
      }
      case "release":
        if (!this.holds.delete(operation.holdId)) return { kind: "refused", reason: "hold_not_found" };
        return { kind: "applied" };
    }
  }

  async record(entry: { transferId: string }): Promise<StepOutcome> {
    return this.#fault(() => {
      if (this.refuseLedger) return { kind: "conflict", detail: "postings differ" } as const;
      if (!this.ledger.some((known) => known.transferId === entry.transferId)) this.ledger.push(entry);
      return { kind: "applied" } as const;
    });
  }

  async settle(transferId: string, outcome: { status: string; reason?: string }) {
    return this.#fault(() => {
      this.settled.push({ transferId, ...outcome });
      return { answered: `${transferId}:${outcome.status}` };
    });
  }
}
