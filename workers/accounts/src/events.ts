import { relayServiceOutbox } from "@edgebank/outbox";
import { config, serviceSettings } from "./service.ts";

/** Publishes the accounts outbox to Kafka: right after an AccountDO commits, and from the cron sweeper. */
export function relayAccountEvents(env: object, trigger: "commit" | "cron"): Promise<void> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  return relayServiceOutbox(env, {
    service: "accounts",
    schema: "accounts",
    settings: serviceSettings(env),
    version: SERVICE_VERSION,
    logLevel: LOG_LEVEL,
    trigger,
  });
}
