import type { Database } from "@edgebank/db";
import type {
  AccountState,
  AccountStore,
  CommitBatch,
  Hold,
  KnownOperation,
  Operation,
} from "@edgebank/durable-objects/account";
import { AppError } from "@edgebank/errors";
import { newId, newUuidV7 } from "@edgebank/ids";
import { and, eq, inArray } from "drizzle-orm";
import { accounts, holds, operations, outbox } from "./schema.ts";

const eventTypes = {
  credit: "AccountCredited",
  debit: "AccountDebited",
  hold: "HoldPlaced",
  capture: "HoldCaptured",
  release: "HoldReleased",
  set_credit_limit: "CreditLimitChanged",
} as const;

const statusEvents = { active: "AccountUnfrozen", frozen: "AccountFrozen", closed: "AccountClosed" } as const;

/** The event an applied operation publishes. */
function eventType(operation: Operation): string {
  return operation.kind === "set_status" ? statusEvents[operation.status] : eventTypes[operation.kind];
}

/** What an operator action set, for the journal and the event. */
function details(operation: Operation): Record<string, unknown> | null {
  if (operation.kind === "set_status") return { status: operation.status };
  if (operation.kind === "set_credit_limit") return { creditLimit: operation.creditLimit.toString() };
  return null;
}

/**
 * The AccountDO's store in the accounts database. A batch is one transaction: the account row
 * (only if it is still at the version the object read: a second writer is refused), a journal
 * row per decided operation (unique per account and operation id), the open holds, and an
 * outbox event per applied operation. The check constraints on `accounts` stop any balance the
 * rules would never allow, even if the object were wrong.
 */
export class PgAccountStore implements AccountStore {
  /**
   * Test environments only: the next commit fails before writing anything ("before") or after
   * committing, as if the answer were lost on the way back ("after").
   */
  injectedFault: "before" | "after" | undefined;

  constructor(private readonly db: () => Database) {}

  async load(accountId: string): Promise<AccountState> {
    const [row] = await this.db().select().from(accounts).where(eq(accounts.id, accountId));
    if (!row) throw new AppError("not_found", `Account ${accountId} does not exist.`);
    const open = await this.db().select().from(holds).where(eq(holds.accountId, accountId));
    return {
      accountId,
      kind: row.kind,
      currency: row.currency,
      ownerId: row.ownerId,
      status: row.status,
      posted: row.postedBalance,
      pending: row.pendingBalance,
      creditLimit: row.creditLimit,
      holds: new Map<string, Hold>(open.map((h) => [h.holdId, { amount: h.amount, expiresAt: h.expiresAt.getTime() }])),
      version: row.version,
    };
  }

  async findOperations(accountId: string, operationIds: string[]): Promise<Map<string, KnownOperation>> {
    const rows = await this.db()
      .select()
      .from(operations)
      .where(and(eq(operations.accountId, accountId), inArray(operations.operationId, operationIds)));
    return new Map(
      rows.map((row) => [
        row.operationId,
        {
          fingerprint: row.fingerprint,
          result: {
            operationId: row.operationId,
            status: row.status,
            ...(row.reason ? { reason: row.reason as NonNullable<KnownOperation["result"]["reason"]> } : {}),
            posted: row.postedAfter.toString(),
            pending: row.pendingAfter.toString(),
            available: row.availableAfter.toString(),
          },
        },
      ]),
    );
  }

  async commit({ before, after, decided }: CommitBatch): Promise<void> {
    const fault = this.injectedFault;
    this.injectedFault = undefined;
    if (fault === "before") throw new Error("injected fault: database unreachable before the commit");
    await this.db().transaction(async (tx) => {
      const updated = await tx
        .update(accounts)
        .set({
          postedBalance: after.posted,
          pendingBalance: after.pending,
          status: after.status,
          creditLimit: after.creditLimit,
          version: after.version,
          updatedAt: new Date(),
        })
        .where(and(eq(accounts.id, before.accountId), eq(accounts.version, before.version)))
        .returning({ id: accounts.id });
      if (updated.length !== 1) throw new Error(`account ${before.accountId} changed under its single writer`);

      await tx.insert(operations).values(
        decided.map(({ operation, fingerprint, result }) => ({
          id: newId("operation"),
          accountId: before.accountId,
          operationId: operation.operationId,
          kind: operation.kind,
          amount: "amount" in operation && operation.amount !== undefined ? operation.amount : null,
          holdId: "holdId" in operation ? operation.holdId : null,
          details: details(operation),
          actor: "actor" in operation ? operation.actor : null,
          fingerprint,
          status: result.status,
          reason: result.reason ?? null,
          postedAfter: BigInt(result.posted),
          pendingAfter: BigInt(result.pending),
          availableAfter: BigInt(result.available),
        })),
      );

      const removed = [...before.holds.keys()].filter((id) => !after.holds.has(id));
      const placed = [...after.holds].filter(([id]) => !before.holds.has(id));
      if (removed.length > 0) {
        await tx.delete(holds).where(and(eq(holds.accountId, before.accountId), inArray(holds.holdId, removed)));
      }
      if (placed.length > 0) {
        await tx.insert(holds).values(
          placed.map(([holdId, hold]) => ({
            accountId: before.accountId,
            holdId,
            amount: hold.amount,
            expiresAt: new Date(hold.expiresAt),
          })),
        );
      }

      const events = decided.filter((d) => d.result.status === "applied");
      if (events.length > 0) {
        await tx.insert(outbox).values(
          events.map(({ operation, result }) => ({
            id: newUuidV7(),
            aggregateId: before.accountId,
            type: eventType(operation),
            payload: {
              accountId: before.accountId,
              operationId: operation.operationId,
              ...("amount" in operation && operation.amount !== undefined
                ? { amount: operation.amount.toString() }
                : {}),
              ...("holdId" in operation ? { holdId: operation.holdId } : {}),
              ...details(operation),
              ...("actor" in operation ? { actor: operation.actor } : {}),
              posted: result.posted,
              pending: result.pending,
              available: result.available,
            },
          })),
        );
      }
    });
    if (fault === "after") throw new Error("injected fault: connection lost after the commit");
  }
}
