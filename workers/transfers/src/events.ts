import { serviceOutboxRelay } from "@edgebank/outbox";
import { config, serviceSettings } from "./service.ts";

/** Publishes the transfers outbox to Kafka: right after a saga settles, and from the cron sweeper. */
export const relayTransferEvents = serviceOutboxRelay({
  service: "transfers",
  schema: "transfers",
  vars: config,
  settings: serviceSettings,
});
