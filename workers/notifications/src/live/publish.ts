import { withDatabase } from "@edgebank/db";
import { createLogger, describeError } from "@edgebank/http";
import { notificationsOfEvents, type PresentedNotification, presentNotification } from "../repo/notifications.ts";
import { config, serviceSettings } from "../service.ts";

/** The stream object of a user (one per user, wherever they are connected from). */
export function streamOf(env: Env, userId: string) {
  return env.NOTIFICATION_STREAM.get(env.NOTIFICATION_STREAM.idFromName(userId));
}

/**
 * Sends what some events just became (committed) to their users' open streams. Best effort and
 * never throws: a notification missed here is in the inbox, which an app reads when it connects.
 */
export async function publishLive(env: Env, eventIds: readonly string[]): Promise<void> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  const log = createLogger({ service: "notifications", version: SERVICE_VERSION }, LOG_LEVEL);
  try {
    const rows = await withDatabase(serviceSettings(env), (db) => notificationsOfEvents(db, eventIds));
    const byUser = new Map<string, PresentedNotification[]>();
    for (const row of rows) byUser.set(row.userId, [...(byUser.get(row.userId) ?? []), presentNotification(row)]);
    await Promise.all([...byUser].map(([userId, items]) => streamOf(env, userId).publish(items)));
  } catch (error) {
    log.warn("live notifications not sent", { events: eventIds.length, ...describeError(error) });
  }
}
