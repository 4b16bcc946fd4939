import { relayServiceOutbox } from "@edgebank/outbox";
import { config, serviceSettings } from "./service.ts";

/** Publishes the payments outbox to Kafka: right after a payment or refund settles, and from the cron. */
export function relayPaymentEvents(env: object, trigger: "commit" | "cron"): Promise<void> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  return relayServiceOutbox(env, {
    service: "payments",
    schema: "payments",
    settings: serviceSettings(env),
    version: SERVICE_VERSION,
    logLevel: LOG_LEVEL,
    trigger,
  });
}
