import { serviceOutboxRelay } from "@edgebank/outbox";
import { config, serviceSettings } from "./service.ts";

/** Publishes the accounts outbox to Kafka: right after an AccountDO commits, and from the cron sweeper. */
export const relayAccountEvents = serviceOutboxRelay({
  service: "accounts",
  schema: "accounts",
  vars: config,
  settings: serviceSettings,
});
