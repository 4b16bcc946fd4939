import type { Database, Transaction } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { and, eq } from "drizzle-orm";
import type { IdempotencyTable } from "./idempotency-table.ts";

/** SHA-256 (hex) of the request as an idempotency record remembers it. */
export async function requestFingerprint(method: string, path: string, body: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify([method, path, body]));
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A first request whose record has no response after this long is taken for dead and resumed. */
export const ABANDONED_AFTER_MS = 30_000;

/**
 * The answer to a repeat whose first request has no final answer yet: a 409 with its own code
 * and Retry-After, so the gateway's fast path (and any client) knows it is not the key's answer.
 */
export function inProgress(detail: string): AppError {
  return new AppError("idempotency_in_progress", detail, { headers: { "retry-after": "1" } });
}

export type Claim =
  | { kind: "new" }
  | { kind: "resume"; resourceId: string; recent: boolean }
  | { kind: "replay"; status: number; body: Record<string, unknown> };

/**
 * Claims an Idempotency-Key inside the transaction that creates the resource `resourceId`:
 * the first request gets `new` (and creates it in the same transaction); a repeat with the
 * same fingerprint gets the stored response (`replay`), or `resume` while the first has no
 * final answer (`recent`: it may still be running); a repeat with another fingerprint is a
 * 422. Unique per (caller, key): a concurrent second insert waits for the first and then sees
 * its record.
 */
export async function claimIdempotencyKey(
  tx: Transaction,
  table: IdempotencyTable,
  claim: { principal: string; key: string; fingerprint: string; resourceId: string },
): Promise<Claim> {
  const inserted = await tx.insert(table).values(claim).onConflictDoNothing().returning({ id: table.resourceId });
  if (inserted.length === 1) return { kind: "new" };
  const [record] = await tx
    .select()
    .from(table)
    .where(and(eq(table.principal, claim.principal), eq(table.key, claim.key)));
  if (!record) throw inProgress("The Idempotency-Key is being used by another request; retry.");
  if (record.fingerprint !== claim.fingerprint) {
    throw new AppError("unprocessable", "This Idempotency-Key was used with another request.", {
      extensions: { reason: "idempotency_key_reused" },
    });
  }
  if (record.responseStatus !== null && record.responseBody !== null) {
    return { kind: "replay", status: record.responseStatus, body: record.responseBody };
  }
  const recent = Date.now() - record.createdAt.getTime() < ABANDONED_AFTER_MS;
  return { kind: "resume", resourceId: record.resourceId, recent };
}

/** Stores the final response of a key's first request (what every repeat will get). */
export async function storeIdempotentResponse(
  db: { update: Transaction["update"] },
  table: IdempotencyTable,
  record: { principal: string; key: string },
  status: number,
  body: Record<string, unknown>,
): Promise<void> {
  await db
    .update(table)
    .set({ responseStatus: status, responseBody: body })
    .where(and(eq(table.principal, record.principal), eq(table.key, record.key)));
}

/** A service's answer store over its idempotency table: (db, caller, key, status, body) stores the key's final answer. */
export function idempotentAnswers(table: IdempotencyTable) {
  return (
    db: { update: Transaction["update"] },
    principal: { subject: string },
    key: string,
    status: number,
    body: Record<string, unknown>,
  ): Promise<void> => storeIdempotentResponse(db, table, { principal: principal.subject, key }, status, body);
}

/**
 * What a key's request gets: the stored response of its first request, the resource its first
 * request created (`resume`: that request died; `settled`: it ended, but its answer was not
 * stored: answer with its outcome), or the new resource (`created`).
 */
export type Begun<R> = Extract<Claim, { kind: "replay" }> | { kind: "created" | "resume" | "settled"; resource: R };

/**
 * Creates a resource behind an Idempotency-Key, in one transaction with the key's claim (see
 * claimIdempotencyKey): a first request runs `create` with the id the key records; a repeat
 * gets the stored response (`replay`); the resource it created once that has ended
 * (`settled`, as `steps.settled` says: its outcome is the key's answer, never a stale 409 or
 * 202); a 409 while the first request may still run; or, when it died before answering, the
 * resource to go on with (`resume`).
 */
export async function beginIdempotent<R>(
  db: Database,
  table: IdempotencyTable,
  request: { principal: string; key: string; fingerprint: string; resourceId: string },
  steps: {
    load(tx: Transaction, id: string): Promise<R | undefined>;
    create(tx: Transaction, id: string): Promise<R>;
    /** Whether the resource has ended (its state is a final answer). */
    settled?(resource: R): boolean;
  },
): Promise<Begun<R>> {
  return db.transaction(async (tx) => {
    const claim = await claimIdempotencyKey(tx, table, request);
    if (claim.kind === "replay") return claim;
    if (claim.kind === "resume") {
      const resource = await steps.load(tx, claim.resourceId);
      if (resource === undefined) throw new Error(`idempotency record without its resource ${claim.resourceId}`);
      if (steps.settled?.(resource)) return { kind: "settled" as const, resource };
      if (claim.recent) throw inProgress("A request with this Idempotency-Key is still in progress.");
      return { kind: "resume" as const, resource };
    }
    return { kind: "created" as const, resource: await steps.create(tx, request.resourceId) };
  });
}

/** The stored response of a key's first request, answered again (marked `Idempotent-Replayed`). */
export function replayResponse(
  replay: { status: number; body: Record<string, unknown> },
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(replay.body), {
    status: replay.status,
    headers: {
      "content-type": replay.status >= 400 ? "application/problem+json" : "application/json",
      "idempotent-replayed": "true",
      ...headers,
    },
  });
}
