import { type Database, databaseError } from "@edgebank/db";
import type { RolloutEvent, RolloutState } from "@edgebank/durable-objects/rollout";
import { newUuidV7 } from "@edgebank/ids";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { outbox, rollouts } from "../db/schema.ts";

export type RolloutRow = typeof rollouts.$inferSelect;

const underWay = ["PROBING", "STEPPING", "PAUSED"];

/** The rollout's machine state as stored (the row's `state`). */
export const stateOf = (row: RolloutRow) => row.state as unknown as RolloutState;

/**
 * Records a new rollout. Answers the row, or the rollout already under way for the same Worker
 * (`existing`): Cloudflare deploys at most two versions of a Worker at once.
 */
export async function insertRollout(
  db: Database,
  state: RolloutState,
  service: string,
): Promise<{ inserted: RolloutRow } | { existing: RolloutRow }> {
  try {
    const [inserted] = await db
      .insert(rollouts)
      .values({
        id: state.id,
        service,
        worker: state.worker,
        stableVersionId: state.stableVersionId,
        canaryVersionId: state.canaryVersionId,
        status: state.status,
        canaryPercentage: state.canaryPercentage,
        state: state as unknown as Record<string, unknown>,
        startedBy: state.startedBy,
      })
      .returning();
    if (!inserted) throw new Error("rollout insert returned nothing");
    return { inserted };
  } catch (error) {
    if (databaseError(error)?.constraint !== "rollouts_one_under_way_per_worker") throw error;
    const existing = await rolloutUnderWay(db, state.worker);
    if (!existing) throw error;
    return { existing };
  }
}

/** The rollout of `worker` that is under way, if any. */
export async function rolloutUnderWay(db: Database, worker: string): Promise<RolloutRow | undefined> {
  const [row] = await db
    .select()
    .from(rollouts)
    .where(and(eq(rollouts.worker, worker), inArray(rollouts.status, underWay)));
  return row;
}

export async function getRollout(db: Database, id: string): Promise<RolloutRow | undefined> {
  const [row] = await db.select().from(rollouts).where(eq(rollouts.id, id));
  return row;
}

/** The latest rollouts, newest first; `underWayOnly` for those still moving traffic. */
export async function listRollouts(
  db: Database,
  options: { limit: number; underWayOnly: boolean },
): Promise<RolloutRow[]> {
  return db
    .select()
    .from(rollouts)
    .where(options.underWayOnly ? inArray(rollouts.status, underWay) : undefined)
    .orderBy(desc(rollouts.createdAt), desc(rollouts.id))
    .limit(options.limit);
}

/** Rollouts under way, for the cron that wakes any whose alarm was lost. */
export async function rolloutsUnderWay(db: Database): Promise<string[]> {
  const rows = await db.select({ id: rollouts.id }).from(rollouts).where(inArray(rollouts.status, underWay));
  return rows.map((row) => row.id);
}

/**
 * Stores a transition of a rollout with the events it produced, in one transaction, if the row
 * is still at `revision` (its RolloutDO is the only writer; a mismatch means another instance
 * wrote meanwhile). Answers the new revision.
 */
export async function saveRollout(
  db: Database,
  state: RolloutState,
  revision: number,
  events: RolloutEvent[],
  traceparent?: string,
): Promise<number> {
  return db.transaction(async (tx) => {
    const [saved] = await tx
      .update(rollouts)
      .set({
        status: state.status,
        canaryPercentage: state.canaryPercentage,
        state: state as unknown as Record<string, unknown>,
        revision: sql`${rollouts.revision} + 1`,
        updatedAt: new Date(),
      })
      .where(and(eq(rollouts.id, state.id), eq(rollouts.revision, revision)))
      .returning({ revision: rollouts.revision });
    if (!saved) throw new Error(`rollout ${state.id} changed under its object (revision ${revision})`);
    if (events.length > 0) {
      await tx.insert(outbox).values(
        events.map(({ type, ...data }) => ({
          id: newUuidV7(),
          aggregateId: state.id,
          type,
          payload: data,
          traceparent: traceparent ?? null,
        })),
      );
    }
    return saved.revision;
  });
}
