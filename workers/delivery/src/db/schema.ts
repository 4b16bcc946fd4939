import { outboxTable } from "@edgebank/outbox/table";
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgSchema, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/** Every table of the delivery service lives in this schema of the delivery database. */
export const deliverySchema = pgSchema("delivery");

/**
 * Rollouts of new Worker versions. The row is written by the rollout's RolloutDO alone (guarded
 * by `revision`), with the whole state of its machine in `state` (steps, analyses with their
 * figures, commands with who gave them); the columns beside it are what lists filter on. A
 * Worker has at most one rollout under way: Cloudflare deploys at most two versions at once.
 */
export const rollouts = deliverySchema.table(
  "rollouts",
  {
    id: text("id").primaryKey(),
    service: text("service").notNull(),
    worker: text("worker").notNull(),
    stableVersionId: text("stable_version_id").notNull(),
    canaryVersionId: text("canary_version_id").notNull(),
    status: text("status").notNull(),
    canaryPercentage: integer("canary_percentage").notNull(),
    state: jsonb("state").$type<Record<string, unknown>>().notNull(),
    revision: integer("revision").notNull().default(0),
    startedBy: text("started_by").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("rollouts_one_under_way_per_worker")
      .on(t.worker)
      .where(sql`${t.status} in ('PROBING', 'STEPPING', 'PAUSED')`),
    index("rollouts_created_idx").on(t.createdAt),
  ],
);

/** RolloutPromoted, RolloutRolledBack, RolloutAborted, RolloutPaused, written with the change they report. */
export const outbox = outboxTable(deliverySchema);
