import { DurableObject } from "cloudflare:workers";
import { KeptDatabase, openDatabase } from "@edgebank/db";
import { AccountCore, available, type Operation, type OperationResult } from "@edgebank/durable-objects/account";
import { AppError } from "@edgebank/errors";
import { traceWork } from "@edgebank/http";
import { pokeOutboxRelay } from "@edgebank/outbox/durable-object";
import { currentTraceparent } from "@edgebank/telemetry";
import { PgAccountStore } from "./db/account-store.ts";
import { serviceSettings } from "./service.ts";

type Amount = bigint;
/** Every input may carry the caller's W3C traceparent, which the operation's event carries on. */
type Traced = { traceparent?: string };
export type CreditInput = Traced & {
  accountId: string;
  operationId: string;
  amount: Amount;
  currency?: string;
  requireActive?: boolean;
};
export type HoldInput = Traced & {
  accountId: string;
  operationId: string;
  holdId: string;
  amount: Amount;
  expiresAt: number;
  currency?: string;
  /** Refused unless the account is a customer's, owned by this user. */
  ownedBy?: string;
};
export type CaptureInput = Traced & { accountId: string; operationId: string; holdId: string; amount?: Amount };
export type ReleaseInput = Traced & { accountId: string; operationId: string; holdId: string };
export type StatusInput = Traced & {
  accountId: string;
  operationId: string;
  status: "active" | "frozen" | "closed";
  actor: string;
};
export type CreditLimitInput = Traced & { accountId: string; operationId: string; creditLimit: Amount; actor: string };
export type AccountBalances = { posted: bigint; pending: bigint; creditLimit: bigint };
/** What other services may know of an account without reading the accounts database. */
export type AccountSummary = {
  id: string;
  kind: "customer" | "system";
  ownerId: string;
  currency: string;
  status: "active" | "frozen" | "closed";
  posted: string;
  pending: string;
  available: string;
  creditLimit: string;
};

/**
 * The single writer of one account (one object per account id, addressed by name). RPC methods
 * run every operation through AccountCore (rules, idempotency by operation id, group commit)
 * and answer only after the batch is committed to PostgreSQL. The object keeps one database
 * connection while busy and closes it when idle, so thousands of quiet accounts hold none.
 * Holds expire by alarm.
 */
export class AccountDO extends DurableObject<Env> {
  #core: AccountCore | undefined;
  /**
   * The account's store, once the core is made. Not private: a test injects a failing commit
   * into a live object by wrapping it (runInDurableObject); the class has no fault hook.
   */
  protected store: PgAccountStore | undefined;
  /** One connection while busy, none when idle, so thousands of quiet accounts hold none. */
  readonly #database = new KeptDatabase(() => openDatabase(serviceSettings(this.env)));
  /** When the object's alarm rings, as stored (null: none; undefined: not read yet). */
  #alarmAt: number | null | undefined;
  /** A poke of the relay object is in flight for this object; `#relayAgain`: commits arrived meanwhile. */
  #relaying = false;
  #relayAgain = false;

  credit(input: CreditInput): Promise<OperationResult> {
    return this.#submit(input.accountId, {
      kind: "credit",
      ...traced(input),
      ...money(input),
      ...(input.requireActive ? { requireActive: true } : {}),
    });
  }

  debit(input: CreditInput): Promise<OperationResult> {
    return this.#submit(input.accountId, { kind: "debit", ...traced(input), ...money(input) });
  }

  async hold(input: HoldInput): Promise<OperationResult> {
    const result = await this.#submit(input.accountId, {
      kind: "hold",
      ...traced(input),
      ...money(input),
      holdId: input.holdId,
      expiresAt: input.expiresAt,
      ...(input.ownedBy !== undefined ? { ownedBy: input.ownedBy } : {}),
    });
    if (result.status === "applied") await this.#scheduleExpiry();
    return result;
  }

  capture(input: CaptureInput): Promise<OperationResult> {
    return this.#submit(input.accountId, {
      kind: "capture",
      ...traced(input),
      operationId: input.operationId,
      holdId: input.holdId,
      ...(input.amount !== undefined ? { amount: input.amount } : {}),
    });
  }

  release(input: ReleaseInput): Promise<OperationResult> {
    return this.#submit(input.accountId, {
      kind: "release",
      ...traced(input),
      operationId: input.operationId,
      holdId: input.holdId,
    });
  }

  /** Operator action: freeze, unfreeze or close (close only when empty), recorded with `actor`. */
  setStatus(input: StatusInput): Promise<OperationResult> {
    return this.#submit(input.accountId, {
      kind: "set_status",
      ...traced(input),
      operationId: input.operationId,
      status: input.status,
      actor: input.actor,
    });
  }

  /** Operator action: a new credit limit, refused if the balance would then be below it. */
  setCreditLimit(input: CreditLimitInput): Promise<OperationResult> {
    return this.#submit(input.accountId, {
      kind: "set_credit_limit",
      ...traced(input),
      operationId: input.operationId,
      creditLimit: input.creditLimit,
      actor: input.actor,
    });
  }

  /** Balances as of the last committed operation (strongly consistent: this object is the only writer). */
  async balance(accountId: string): Promise<AccountBalances> {
    const state = await this.#coreFor(accountId).state();
    this.#database.touch();
    return { posted: state.posted, pending: state.pending, creditLimit: state.creditLimit };
  }

  /** The account's identity, status and balances, from memory once loaded (no database round trip). */
  async summary(accountId: string): Promise<AccountSummary> {
    const state = await this.#coreFor(accountId).state();
    this.#database.touch();
    return {
      id: state.accountId,
      kind: state.kind,
      ownerId: state.ownerId,
      currency: state.currency,
      status: state.status,
      posted: state.posted.toString(),
      pending: state.pending.toString(),
      available: available(state).toString(),
      creditLimit: state.creditLimit.toString(),
    };
  }

  /** Releases every hold whose time has come; the operation id makes a replayed alarm harmless. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null; // it is ringing: none is set until the holds left ask for one
    const accountId = await this.ctx.storage.get<string>("accountId");
    if (!accountId) return;
    const core = this.#coreFor(accountId);
    const now = Date.now();
    for (const [holdId, hold] of (await core.state()).holds) {
      if (hold.expiresAt <= now) await core.submit({ kind: "release", operationId: `expire:${holdId}`, holdId });
    }
    await this.#scheduleExpiry();
  }

  #submit(accountId: string, operation: Operation): Promise<OperationResult> {
    return traceWork(
      "accounts",
      this.env,
      {
        name: `AccountDO ${operation.kind}`,
        kind: "server",
        parent: operation.traceparent,
        attributes: { "edgebank.account_id": accountId, "edgebank.operation_id": operation.operationId },
        waitUntil: (promise) => this.ctx.waitUntil(promise),
      },
      async (span) => {
        const core = this.#coreFor(accountId);
        try {
          const result = await core.submit(operation);
          span?.setAttributes({ "edgebank.outcome": result.status });
          if (result.status === "applied") this.#relaySoon();
          return result;
        } finally {
          this.#database.touch();
        }
      },
    );
  }

  /**
   * Has the events just committed published, after the answer: the service's relay object
   * relays for every account at once (one run for many objects' commits). At most one poke per
   * object in flight, once more when commits arrived meanwhile; the cron sweeps what is left.
   */
  #relaySoon(): void {
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
            await pokeOutboxRelay(this.env.OUTBOX_RELAY, "accounts", currentTraceparent());
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

  #coreFor(accountId: string): AccountCore {
    if (this.#core) {
      if (this.#core.accountId !== accountId) throw new AppError("bad_request", "This object serves another account.");
      return this.#core;
    }
    if (this.ctx.id.name !== undefined && this.ctx.id.name !== accountId) {
      throw new AppError("bad_request", "This object serves another account.");
    }
    this.store = new PgAccountStore(() => this.#database.db());
    this.#core = new AccountCore(accountId, this.store);
    return this.#core;
  }

  /**
   * Has the alarm ring by the earliest hold's expiry. Nothing is written when it already rings
   * by then (an earlier hold's alarm: when it rings it sets the next one), so a hold on a busy
   * or returning account costs no storage write; otherwise the account's id (which the alarm
   * reads) and the alarm in one write.
   */
  async #scheduleExpiry(): Promise<void> {
    if (!this.#core) return;
    const { accountId, holds } = await this.#core.state();
    const next = Math.min(...[...holds.values()].map((hold) => hold.expiresAt));
    this.#alarmAt ??= await this.ctx.storage.getAlarm();
    if (!Number.isFinite(next)) {
      if (this.#alarmAt !== null) await this.ctx.storage.deleteAlarm();
      this.#alarmAt = null;
      return;
    }
    if (this.#alarmAt !== null && this.#alarmAt <= next) return;
    this.#alarmAt = next;
    await Promise.all([this.ctx.storage.put("accountId", accountId), this.ctx.storage.setAlarm(next)]);
  }
}

function traced(input: Traced): Traced {
  return input.traceparent !== undefined ? { traceparent: input.traceparent } : {};
}

function money(input: { operationId: string; amount: Amount; currency?: string }) {
  return {
    operationId: input.operationId,
    amount: input.amount,
    ...(input.currency !== undefined ? { currency: input.currency } : {}),
  };
}
