import type { ConsumerSpec } from "@edgebank/consumer";
import { consumerConfig, EventConsumerDO, serviceConsumers } from "@edgebank/consumer/durable-object";
import { withDatabase } from "@edgebank/db";
import { createLogger, describeError, recordMetric } from "@edgebank/http";
import { notifiedEvents, recordNotification } from "./domain/notifications.ts";
import { publishLive } from "./live/publish.ts";
import { config, notificationSettings, serviceSettings } from "./service.ts";
import { deliverDue } from "./webhooks/delivery.ts";

/** The consumers of this service: one group, `notifications`, on each topic it learns from. */
export function consumers(env: object): ConsumerSpec[] {
  const { CONSUMER_MAX_ATTEMPTS } = consumerConfig(env);
  return [
    {
      group: "notifications",
      topic: "edgebank.accounts",
      schema: "notifications",
      types: notifiedEvents,
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      handle: recordNotification,
    },
    {
      group: "notifications",
      topic: "edgebank.transfers",
      schema: "notifications",
      types: notifiedEvents,
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      handle: recordNotification,
    },
    {
      group: "notifications",
      topic: "edgebank.orders",
      schema: "notifications",
      types: notifiedEvents,
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      handle: recordNotification,
    },
    {
      group: "notifications",
      topic: "edgebank.payments",
      schema: "notifications",
      types: notifiedEvents,
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      handle: recordNotification,
    },
    {
      group: "notifications",
      topic: "edgebank.delivery",
      schema: "notifications",
      types: notifiedEvents,
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      handle: recordNotification,
    },
  ];
}

/**
 * Sends webhook deliveries that are due: those of the events a batch just applied, or (cron)
 * every due one, retries included. Never throws.
 */
export async function deliverWebhooks(
  env: object,
  trigger: "batch" | "cron",
  eventIds?: readonly string[],
): Promise<void> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  const context = { service: "notifications", version: SERVICE_VERSION };
  const log = createLogger(context, LOG_LEVEL);
  const settings = notificationSettings(env);
  try {
    const run = await withDatabase(serviceSettings(env), (db) =>
      deliverDue(
        db,
        {
          retrySeconds: settings.WEBHOOK_RETRY_SECONDS,
          disableAfter: settings.WEBHOOK_DISABLE_AFTER,
          timeoutMs: settings.WEBHOOK_TIMEOUT_MS,
          secretKey: settings.WEBHOOK_SECRET_KEY,
        },
        log,
        eventIds ? { eventIds } : {},
      ),
    );
    if (run.attempted > 0) {
      log.info("webhooks delivered", { trigger, ...run });
      recordMetric(env, log, context, "webhook_deliveries_failed", run.failed);
    }
  } catch (error) {
    log.error("webhook delivery run failed", { trigger, ...describeError(error) });
  }
}

const service = serviceConsumers({
  service: "notifications",
  vars: config,
  settings: serviceSettings,
  specs: consumers,
  // What this batch applied goes out now (webhook retries are the cron's), and to open apps.
  afterBatch: async (env, events) => {
    const ids = events.map((event) => event.id);
    await Promise.all([deliverWebhooks(env, "batch", ids), publishLive(env as Env, ids)]);
  },
});

/** Starts every consumer object (idempotent: one that runs keeps running). */
export const startConsumers = service.start;
export const consumerStatuses = service.statuses;

/** The consumer objects of this service (one per group and topic). */
export class NotificationsConsumerDO extends EventConsumerDO<Env> {
  protected host() {
    return service.host(this.env);
  }
}
