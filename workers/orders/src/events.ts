import { relayServiceOutbox } from "@edgebank/outbox";
import { config, serviceSettings } from "./service.ts";

/** Publishes the orders outbox to Kafka: right after each change, and from the cron sweeper. */
export function relayOrderEvents(env: object, trigger: "commit" | "cron"): Promise<void> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  return relayServiceOutbox(env, {
    service: "orders",
    schema: "orders",
    settings: serviceSettings(env),
    version: SERVICE_VERSION,
    logLevel: LOG_LEVEL,
    trigger,
  });
}
