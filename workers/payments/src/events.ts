import { serviceOutboxRelay } from "@edgebank/outbox";
import { config, serviceSettings } from "./service.ts";

/** Publishes the payments outbox to Kafka: right after a payment or refund settles, and from the cron. */
export const relayPaymentEvents = serviceOutboxRelay({
  service: "payments",
  schema: "payments",
  vars: config,
  settings: serviceSettings,
});
