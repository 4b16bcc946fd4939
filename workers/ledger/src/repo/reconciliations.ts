import type { Database } from "@edgebank/db";
import { desc } from "drizzle-orm";
import { reconciliations } from "../db/schema.ts";

export type ReconciliationRow = typeof reconciliations.$inferSelect;

/** The latest reconciliation reports, newest first. */
export function latestReconciliations(db: Database, limit: number): Promise<ReconciliationRow[]> {
  return db.select().from(reconciliations).orderBy(desc(reconciliations.startedAt)).limit(limit);
}
