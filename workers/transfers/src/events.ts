import { relayServiceOutbox } from "@edgebank/outbox";
import { config, serviceSettings } from "./service.ts";

/** Publishes the transfers outbox to Kafka: right after a saga settles, and from the cron sweeper. */
export function relayTransferEvents(env: object, trigger: "commit" | "cron"): Promise<void> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  return relayServiceOutbox(env, {
    service: "transfers",
    schema: "transfers",
    settings: serviceSettings(env),
    version: SERVICE_VERSION,
    logLevel: LOG_LEVEL,
    trigger,
  });
}
