import type { Database } from "@edgebank/db";
import { and, desc, eq, isNull, lt } from "drizzle-orm";
import { webhookDeliveries, webhooks } from "../db/schema.ts";

export type WebhookRow = typeof webhooks.$inferSelect;
export type NewWebhook = typeof webhooks.$inferInsert;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

/** An owner's endpoint that is not deleted; undefined for anyone else's. */
export async function findOwnedWebhook(db: Database, ownerId: string, id: string): Promise<WebhookRow | undefined> {
  const [row] = await db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.id, id), eq(webhooks.ownerId, ownerId), isNull(webhooks.deletedAt)));
  return row;
}

/** An owner's endpoints that are not deleted, newest first. */
export function listOwnedWebhooks(db: Database, ownerId: string): Promise<WebhookRow[]> {
  return db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.ownerId, ownerId), isNull(webhooks.deletedAt)))
    .orderBy(desc(webhooks.id));
}

export async function insertWebhook(db: Database, webhook: NewWebhook): Promise<WebhookRow> {
  const [row] = await db.insert(webhooks).values(webhook).returning();
  if (!row) throw new Error("webhook insert returned nothing");
  return row;
}

/** Deletes an endpoint softly: its deliveries stay readable in the database for audit. */
export async function deleteWebhook(db: Database, id: string): Promise<void> {
  await db.update(webhooks).set({ deletedAt: new Date(), updatedAt: new Date() }).where(eq(webhooks.id, id));
}

/** Turns an endpoint on again and forgets its failure streak. */
export async function enableWebhook(db: Database, id: string): Promise<WebhookRow | undefined> {
  const [row] = await db
    .update(webhooks)
    .set({ status: "active", consecutiveFailures: 0, disabledReason: null, updatedAt: new Date() })
    .where(eq(webhooks.id, id))
    .returning();
  return row;
}

/** An endpoint's deliveries newest first; one row more than `limit` says there is a next page. */
export function listDeliveries(
  db: Database,
  webhookId: string,
  page: { limit: number; cursor?: string },
): Promise<WebhookDeliveryRow[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(eq(webhookDeliveries.webhookId, webhookId), page.cursor ? lt(webhookDeliveries.id, page.cursor) : undefined),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(page.limit + 1);
}
