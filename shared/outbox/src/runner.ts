import { booleanVar, defineConfig } from "@edgebank/config";
import { type Database, type DatabaseSettings, withDatabase } from "@edgebank/db";
import { createLogger, describeError, type Logger, type LogLevel, recordMetric } from "@edgebank/http";
import { kafkaClient } from "@edgebank/kafka";
import { withSpan } from "@edgebank/telemetry";
import { z } from "zod";
import { kafkaPublisher, relayOutbox } from "./relay.ts";

/** How a service relays its outbox, besides where Kafka is (`kafkaConfig`). */
export const relayConfig = defineConfig(
  z.object({
    /**
     * Relay right after each commit (default). "false" leaves it all to the cron sweeper (an
     * operator may choose that to spare a database under pressure; events then wait up to a
     * minute).
     */
    OUTBOX_RELAY_AFTER_COMMIT: booleanVar.default(true),
  }),
);

/** Rows one relay pass claims at most. */
const PASS_SIZE = 100;

/**
 * Relays a service's outbox until a pass finds less than a full batch (nothing more waits for
 * it), the broker fails, or `maxPasses` passes ran; what is left (pending events and the oldest
 * one's age, measured by the last pass) goes to the metrics. A run with little to do is one
 * transaction.
 */
export async function drainOutbox(
  env: object,
  db: Database,
  options: { schema: string; log: Logger; context: { service: string; version: string }; maxPasses?: number },
): Promise<{ published: number; pending: number; oldestAgeSeconds: number }> {
  const publisher = kafkaPublisher(kafkaClient(env));
  let published = 0;
  let backlog = { pending: 0, oldestAgeSeconds: 0 };
  for (let pass = 0; pass < (options.maxPasses ?? 10); pass++) {
    const result = await relayOutbox(db, {
      schema: options.schema,
      batchSize: PASS_SIZE,
      publisher,
      onError: (row, error) =>
        options.log.warn("outbox event not published", {
          eventId: row.id,
          type: row.type,
          aggregateId: row.aggregateId,
          error: error instanceof Error ? error.message : String(error),
        }),
    });
    published += result.published;
    backlog = { pending: result.pending, oldestAgeSeconds: result.oldestAgeSeconds };
    if (result.brokerFailed || result.published === 0 || result.claimed < PASS_SIZE) break;
  }
  recordMetric(env, options.log, options.context, "outbox_published", published);
  recordMetric(env, options.log, options.context, "outbox_pending", backlog.pending);
  recordMetric(env, options.log, options.context, "outbox_oldest_age_seconds", backlog.oldestAgeSeconds);
  return { published, ...backlog };
}

/**
 * A service's relay run, for its Durable Objects and crons: right after a commit (so an event
 * reaches consumers within a second, not at the next cron tick; two passes) or from the cron
 * sweeper for whatever is left (a relay that crashed, a broker that was down). Never throws:
 * what is not published stays pending for the next run.
 */
export async function relayServiceOutbox(
  env: object,
  options: {
    service: string;
    schema: string;
    settings: DatabaseSettings;
    version: string;
    logLevel: LogLevel;
    trigger: "commit" | "cron";
  },
): Promise<void> {
  if (options.trigger === "commit" && !relayConfig(env).OUTBOX_RELAY_AFTER_COMMIT) return;
  const log = createLogger({ service: options.service, version: options.version }, options.logLevel);
  await withSpan(
    `outbox relay ${options.schema}`,
    { attributes: { "edgebank.trigger": options.trigger } },
    async (span) => {
      try {
        const result = await withDatabase(options.settings, (db) =>
          drainOutbox(env, db, {
            schema: options.schema,
            log,
            context: { service: options.service, version: options.version },
            maxPasses: options.trigger === "commit" ? 2 : 50,
          }),
        );
        span?.setAttributes({
          "edgebank.outbox.published": result.published,
          "edgebank.outbox.pending": result.pending,
        });
        if (options.trigger === "cron" || result.pending > 0) {
          log.info("outbox relayed", { trigger: options.trigger, ...result });
        }
      } catch (error) {
        span?.recordException(error);
        log.error("outbox relay failed", { trigger: options.trigger, ...describeError(error) });
      }
    },
  );
}

/**
 * A service's relay, bound to its name, outbox schema, vars and database: `relay(env, trigger)`
 * for its Durable Objects, routes and crons.
 */
export function serviceOutboxRelay(definition: {
  service: string;
  schema: string;
  vars: (env: object) => { SERVICE_VERSION: string; LOG_LEVEL: LogLevel };
  settings: (env: object) => DatabaseSettings;
}): (env: object, trigger: "commit" | "cron") => Promise<void> {
  return (env, trigger) => {
    const { SERVICE_VERSION, LOG_LEVEL } = definition.vars(env);
    return relayServiceOutbox(env, {
      service: definition.service,
      schema: definition.schema,
      settings: definition.settings(env),
      version: SERVICE_VERSION,
      logLevel: LOG_LEVEL,
      trigger,
    });
  };
}
