import { type Database, databaseError, resultRows } from "@edgebank/db";
import type { AccountState, CommitBatch, Hold, KnownOperation, Operation } from "@edgebank/durable-objects/account";
import { newId, newUuidV7 } from "@edgebank/ids";
import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import { accounts, holds, operations } from "../db/schema.ts";

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
 * What one account's batch came to in a group commit: committed; stale (the stored account is
 * no longer at the version its object read, so nothing was written: a second writer, or a
 * commit whose answer was lost); recorded (an operation id of the batch is already journaled,
 * nothing was written).
 */
export type BatchOutcome = "committed" | "stale" | "recorded";

/**
 * The accounts with their open holds, one statement for all of them (one round trip, one
 * implicit transaction); an account that does not exist is missing from the map.
 */
export async function loadAccounts(db: Database, accountIds: string[]): Promise<Map<string, AccountState>> {
  const found = await db
    .select({
      account: accounts,
      holds: sql<OpenHold[] | string>`coalesce((
        select json_agg(json_build_object('holdId', h.hold_id, 'amount', h.amount::text, 'expiresAt', h.expires_at))
          from ${holds} h where h.account_id = ${accounts.id}), '[]'::json)`,
    })
    .from(accounts)
    .where(inArray(accounts.id, accountIds));
  return new Map(
    found.map(({ account: row, holds: held }) => {
      // A driver may hand json over as text.
      const open = (typeof held === "string" ? JSON.parse(held) : held) as OpenHold[];
      const state: AccountState = {
        accountId: row.id,
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
      return [row.id, state];
    }),
  );
}

/** Outcomes already journaled for these operation ids of an account (after an eviction, a retry finds them here). */
export async function findOperations(
  db: Database,
  accountId: string,
  operationIds: string[],
): Promise<Map<string, KnownOperation>> {
  const rows = await db
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

/**
 * Commits many accounts' batches (a group commit of the accounts database): one transaction
 * with one statement per batch, sent together (pipelined on the transaction's connection, so
 * a group costs about one round trip, not one per account), each answered on its own. A batch
 * a constraint refuses (an operation id already journaled, a balance the checks forbid) aborts
 * the others with it, so then each batch is committed alone; a failure of the database itself
 * fails them all (nothing was committed, or what was is found by the version guard when the
 * callers retry).
 */
export async function commitBatches(db: Database, batches: CommitBatch[]): Promise<BatchOutcome[]> {
  // One batch alone is one statement: its own implicit transaction, one round trip.
  const [only] = batches;
  if (batches.length === 1 && only) return [await commitOne(db, only).catch(refusedOrThrow)];
  try {
    return await db.transaction(async (tx) => {
      const settled = await Promise.allSettled(batches.map((batch) => commitOne(tx, batch)));
      const outcomes: BatchOutcome[] = [];
      for (const outcome of settled) {
        // The first statement that failed is the cause; the ones after it found the transaction aborted.
        if (outcome.status === "rejected") throw outcome.reason;
        outcomes.push(outcome.value);
      }
      return outcomes;
    });
  } catch (error) {
    // One batch's refusal aborted the others with it: each alone, so the others still commit.
    if (!isConstraintViolation(error)) throw error;
    return Promise.all(batches.map((batch) => commitOne(db, batch).catch(refusedOrThrow)));
  }
}

/** SQLSTATE class 23: integrity constraint violation (unique, check, foreign key). */
const isConstraintViolation = (error: unknown) => databaseError(error)?.code.startsWith("23") === true;

/** A batch refused for an operation id already journaled is `recorded`; anything else is thrown. */
async function refusedOrThrow(error: unknown): Promise<BatchOutcome> {
  const violated = databaseError(error);
  if (violated?.code === "23505" && violated.constraint === "operations_account_operation_key") return "recorded";
  throw error;
}

/** One account's batch as one statement, guarded by the version its object read. */
async function commitOne(db: Pick<Database, "execute">, batch: CommitBatch): Promise<BatchOutcome> {
  const rows = resultRows<{ updated: number }>(await db.execute(batchStatement(batch)));
  return rows[0]?.updated === 1 ? "committed" : "stale";
}

/**
 * One account's batch as one statement, so one round trip: the account row (only if it is still
 * at the version the object read: a second writer changes nothing), a journal row per decided
 * operation (unique per account and operation id: a repeated id refuses the whole statement),
 * the open holds, and an outbox event per applied operation. The check constraints on
 * `accounts` stop any balance the rules would never allow, even if the object were wrong.
 */
function batchStatement({ before, after, decided }: CommitBatch): SQL {
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
  return sql`
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
    select (select count(*) from updated)::int as updated`;
}
