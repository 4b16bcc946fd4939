import { createLogger, describeError } from "@edgebank/http";
import { consumerStarted, deliverWebhooks, startConsumers } from "./consumers.ts";
import { registerNotificationRoutes } from "./routes/notifications.ts";
import { registerWebhookRoutes } from "./routes/webhooks.ts";
import { app, config } from "./service.ts";

/**
 * The notifications service: consumes the platform's events (one consumer object per group
 * and topic, applying each event once through its inbox) into users' notification inboxes and
 * signed webhook deliveries, retried and logged; operators list and redrive dead letters.
 */
registerNotificationRoutes(app);
registerWebhookRoutes(app);

export { NotificationsConsumerDO } from "./consumers.ts";
export default {
  /** Requests also make sure the consumers run (the cron does too, every minute). */
  fetch(request, env, ctx) {
    if (!consumerStarted.value) {
      ctx.waitUntil(
        startConsumers(env).then(
          () => {
            consumerStarted.value = true;
          },
          (error: unknown) => {
            const { SERVICE_VERSION, LOG_LEVEL } = config(env);
            createLogger({ service: "notifications", version: SERVICE_VERSION }, LOG_LEVEL).error(
              "consumers not started",
              describeError(error),
            );
          },
        ),
      );
    }
    return app.fetch(request, env, ctx);
  },
  /** Every minute: keep the consumers running, and send the webhook deliveries that are due. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(Promise.all([startConsumers(env), deliverWebhooks(env, "cron")]));
  },
} satisfies ExportedHandler<Env>;
