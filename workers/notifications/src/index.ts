import { fetchStartingConsumers } from "@edgebank/consumer/durable-object";
import { createLogger, reportingDurableObject, withErrorReporting } from "@edgebank/http";
import {
  deliverWebhooks,
  NotificationsConsumerDO as NotificationsConsumerDOClass,
  startConsumers,
} from "./consumers.ts";
import { NotificationStreamDO as NotificationStreamDOClass } from "./live/stream.ts";
import { registerLiveRoutes } from "./routes/live.ts";
import { registerNotificationRoutes } from "./routes/notifications.ts";
import { registerWebhookRoutes } from "./routes/webhooks.ts";
import { app, config } from "./service.ts";

/**
 * The notifications service: consumes the platform's events (one consumer object per group
 * and topic, applying each event once through its inbox) into users' notification inboxes and
 * signed webhook deliveries, retried and logged; operators list and redrive dead letters.
 */
registerLiveRoutes(app);
registerNotificationRoutes(app);
registerWebhookRoutes(app);

/** NotificationsConsumerDO, reporting what its RPC methods and alarms throw. */
export type NotificationsConsumerDO = NotificationsConsumerDOClass;
export const NotificationsConsumerDO = reportingDurableObject("notifications", NotificationsConsumerDOClass);
/** NotificationStreamDO: one user's live notification streams (WebSocket hibernation). */
export const NotificationStreamDO = reportingDurableObject("notifications", NotificationStreamDOClass);

const logger = (env: Env) => {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  return createLogger({ service: "notifications", version: SERVICE_VERSION }, LOG_LEVEL);
};

export default withErrorReporting("notifications", {
  /** Requests also make sure the consumers run (the cron does too, every minute). */
  fetch: fetchStartingConsumers<Env>(app.fetch, startConsumers, logger),
  /** Every minute: keep the consumers running, and send the webhook deliveries that are due. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(Promise.all([startConsumers(env), deliverWebhooks(env, "cron")]));
  },
} satisfies ExportedHandler<Env>);
