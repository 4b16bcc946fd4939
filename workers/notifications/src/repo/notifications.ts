import type { Database } from "@edgebank/db";
import { and, desc, eq, inArray, isNull, lt } from "drizzle-orm";
import { notifications } from "../db/schema.ts";

export type NotificationRow = typeof notifications.$inferSelect;

/** A notification as the API shows it (the inbox and the live stream alike). */
export const presentNotification = (row: NotificationRow) => ({
  id: row.id,
  type: row.type,
  eventId: row.eventId,
  title: row.title,
  body: row.body,
  data: row.data,
  createdAt: row.createdAt.toISOString(),
  readAt: row.readAt?.toISOString() ?? null,
});
export type PresentedNotification = ReturnType<typeof presentNotification>;

/** A user's notifications newest first; one row more than `limit` says there is a next page. */
export function listNotifications(
  db: Database,
  userId: string,
  page: { limit: number; cursor?: string; unreadOnly: boolean },
): Promise<NotificationRow[]> {
  return db
    .select()
    .from(notifications)
    .where(
      and(
        eq(notifications.userId, userId),
        page.cursor ? lt(notifications.id, page.cursor) : undefined,
        page.unreadOnly ? isNull(notifications.readAt) : undefined,
      ),
    )
    .orderBy(desc(notifications.id))
    .limit(page.limit + 1);
}

/** Marks a user's notification read (once: the first read time stays); undefined when it is not theirs. */
export async function markNotificationRead(
  db: Database,
  userId: string,
  id: string,
): Promise<NotificationRow | undefined> {
  const owned = and(eq(notifications.id, id), eq(notifications.userId, userId));
  await db
    .update(notifications)
    .set({ readAt: new Date() })
    .where(and(owned, isNull(notifications.readAt)));
  const [row] = await db.select().from(notifications).where(owned);
  return row;
}

/** The notifications some events became, oldest first (what a batch just recorded). */
export function notificationsOfEvents(db: Database, eventIds: readonly string[]): Promise<NotificationRow[]> {
  if (eventIds.length === 0) return Promise.resolve([]);
  return db
    .select()
    .from(notifications)
    .where(inArray(notifications.eventId, [...eventIds]))
    .orderBy(notifications.id);
}
