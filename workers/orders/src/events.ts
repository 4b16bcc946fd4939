import { serviceOutboxRelay } from "@edgebank/outbox";
import { config, serviceSettings } from "./service.ts";

/** Publishes the orders outbox to Kafka: right after each change, and from the cron sweeper. */
export const relayOrderEvents = serviceOutboxRelay({
  service: "orders",
  schema: "orders",
  vars: config,
  settings: serviceSettings,
});
