import { relayServiceOutbox } from "@edgebank/outbox";
import { config, serviceSettings } from "./service.ts";

/** Publishes the inventory outbox (StockReserved, StockRejected) to Kafka. */
export function relayInventoryEvents(env: object, trigger: "commit" | "cron"): Promise<void> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  return relayServiceOutbox(env, {
    service: "inventory",
    schema: "inventory",
    settings: serviceSettings(env),
    version: SERVICE_VERSION,
    logLevel: LOG_LEVEL,
    trigger,
  });
}
