import type { Database } from "@edgebank/db";
import { desc, eq, isNull } from "drizzle-orm";
import { deadLetters } from "../db/schema.ts";

export type DeadLetterRow = typeof deadLetters.$inferSelect;

/** Dead letters newest first; `waitingOnly`: those not redriven yet. */
export function listDeadLetters(db: Database, page: { limit: number; waitingOnly: boolean }): Promise<DeadLetterRow[]> {
  return db
    .select()
    .from(deadLetters)
    .where(page.waitingOnly ? isNull(deadLetters.redrivenAt) : undefined)
    .orderBy(desc(deadLetters.deadAt))
    .limit(page.limit);
}

/** Which consumer and topic a dead letter came from; undefined for an unknown id. */
export async function findDeadLetterOrigin(db: Database, id: string) {
  const [row] = await db
    .select({ consumer: deadLetters.consumer, topic: deadLetters.topic, eventId: deadLetters.eventId })
    .from(deadLetters)
    .where(eq(deadLetters.id, id));
  return row;
}
