import { type Database, databaseError, resultRows } from "@edgebank/db";
import {
  type AccountState,
  type AccountStore,
  type CommitBatch,
  type Hold,
  type KnownOperation,
  type Operation,
  OperationAlreadyRecorded,
} from "@edgebank/durable-objects/account";
import { AppError } from "@edgebank/errors";
import { newId, newUuidV7 } from "@edgebank/ids";
import { and, eq, inArray, sql } from "drizzle-orm";
import { accounts, holds, operations } from "./schema.ts";

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

/** An open hold as the load's json carries it. */
interface OpenHold {
  holdId: string;
  amount: string;
  expiresAt: string;
}

/**
 * The AccountDO's store in the accounts database. A batch is one statement, so one round trip
 * and one implicit transaction: the account row (only if it is still at the version the object
 * read: a second writer is refused), a journal row per decided operation (unique per account
 * and operation id: a repeated id refuses the whole batch), the open holds, and an outbox event
 * per applied operation. The check constraints on `accounts` stop any balance the
 * rules would never allow, even if the object were wrong.
 */
export class PgAccountStore implements AccountStore {
  constructor(private readonly db: () => Database) {}

  /** The account with its open holds, in one statement (one round trip, one implicit transaction). */
  async load(accountId: string): Promise<AccountState> {
    const [found] = await this.db()
      .select({
        account: accounts,
        holds: sql<OpenHold[] | string>`coalesce((
          select json_agg(json_build_object('holdId', h.hold_id, 'amount', h.amount::text, 'expiresAt', h.expires_at))
            from ${holds} h where h.account_id = ${accounts.id}), '[]'::json)`,
      })
      .from(accounts)
      .where(eq(accounts.id, accountId));
    if (!found) throw new AppError("not_found", `Account ${accountId} does not exist.`);
    const row = found.account;
    // A driver may hand json over as text.
    const open = (typeof found.holds === "string" ? JSON.parse(found.holds) : found.holds) as OpenHold[];
    return {
      accountId,
      kind: row.kind,
      currency: row.currency,
      ownerId: row.ownerId,
      status: row.status,
      posted: row.postedBalance,
      pending: row.pendingBalance,
      creditLimit: row.creditLimit,
      holds: new Map<string, Hold>(
        open.map((h) => [h.holdId, { amount: BigInt(h.amount), expiresAt: Date.parse(h.expiresAt) }]),
      ),
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
    const accountId = before.accountId;
    const journal = decided.map(({ operation, fingerprint, result }) => ({
      id: newId("operation"),
      operation_id: operation.operationId,
      kind: operation.kind,
      amount: "amount" in operation && operation.amount !== undefined ? operation.amount.toString() : null,
      hold_id: "holdId" in operation ? operation.holdId : null,
      details: details(operation),
      actor: "actor" in operation ? operation.actor : null,
      fingerprint,
      status: result.status,
      reason: result.reason ?? null,
      posted_after: result.posted,
      pending_after: result.pending,
      available_after: result.available,
    }));
    const removed = [...before.holds.keys()].filter((id) => !after.holds.has(id));
    const placed = [...after.holds]
      .filter(([id]) => !before.holds.has(id))
      .map(([holdId, hold]) => ({
        hold_id: holdId,
        amount: hold.amount.toString(),
        expires_at: new Date(hold.expiresAt).toISOString(),
      }));
    const events = decided
      .filter((d) => d.result.status === "applied")
      .map(({ operation, result }) => ({
        id: newUuidV7(),
        type: eventType(operation),
        traceparent: operation.traceparent ?? null,
        payload: {
          accountId,
          // Whom it concerns: a customer's account names its owner (a settlement account has none).
          ...(before.kind === "customer" ? { ownerId: before.ownerId } : {}),
          currency: before.currency,
          operationId: operation.operationId,
          ...("amount" in operation && operation.amount !== undefined ? { amount: operation.amount.toString() } : {}),
          ...("holdId" in operation ? { holdId: operation.holdId } : {}),
          ...details(operation),
          ...("actor" in operation ? { actor: operation.actor } : {}),
          posted: result.posted,
          pending: result.pending,
          available: result.available,
        },
      }));

    // One statement, so one round trip and one implicit transaction: every part is guarded by
    // the version check, and any constraint violation (a journaled operation id, a balance the
    // checks forbid) aborts all of it.
    let rows: Array<{ updated: number }>;
    try {
      rows = resultRows<{ updated: number }>(
        await this.db().execute(sql`
          with updated as (
            update accounts.accounts
               set posted_balance = ${after.posted.toString()}::bigint,
                   pending_balance = ${after.pending.toString()}::bigint,
                   status = ${after.status},
                   credit_limit = ${after.creditLimit.toString()}::bigint,
                   version = ${after.version.toString()}::bigint,
                   updated_at = now()
             where id = ${accountId} and version = ${before.version.toString()}::bigint
            returning id
          ), journal as (
            insert into accounts.operations
              (id, account_id, operation_id, kind, amount, hold_id, details, actor, fingerprint, status, reason,
               posted_after, pending_after, available_after)
            select r.id, u.id, r.operation_id, r.kind, r.amount, r.hold_id, r.details, r.actor, r.fingerprint,
                   r.status, r.reason, r.posted_after, r.pending_after, r.available_after
              from updated u, jsonb_to_recordset(${JSON.stringify(journal)}::jsonb) as r(
                id text, operation_id text, kind text, amount bigint, hold_id text, details jsonb, actor text,
                fingerprint text, status text, reason text, posted_after bigint, pending_after bigint,
                available_after bigint)
            returning 1
          ), released as (
            delete from accounts.holds h using updated u
             where h.account_id = u.id
               and h.hold_id in (select jsonb_array_elements_text(${JSON.stringify(removed)}::jsonb))
            returning 1
          ), placed as (
            insert into accounts.holds (account_id, hold_id, amount, expires_at)
            select u.id, p.hold_id, p.amount, p.expires_at
              from updated u, jsonb_to_recordset(${JSON.stringify(placed)}::jsonb)
                   as p(hold_id text, amount bigint, expires_at timestamptz)
            returning 1
          ), events as (
            insert into accounts.outbox (id, aggregate_id, type, payload, traceparent)
            select e.id, u.id, e.type, e.payload, e.traceparent
              from updated u, jsonb_to_recordset(${JSON.stringify(events)}::jsonb)
                   as e(id text, type text, payload jsonb, traceparent text)
            returning 1
          )
          select (select count(*) from updated)::int as updated`),
      );
    } catch (error) {
      const violated = databaseError(error);
      if (violated?.code === "23505" && violated.constraint === "operations_account_operation_key") {
        throw new OperationAlreadyRecorded(`an operation of this batch is already journaled for ${accountId}`, {
          cause: error,
        });
      }
      throw error;
    }
    if (rows[0]?.updated !== 1) throw new Error(`account ${accountId} changed under its single writer`);
  }
}
