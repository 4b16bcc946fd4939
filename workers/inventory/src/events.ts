import { serviceOutboxRelay } from "@edgebank/outbox";
import { config, serviceSettings } from "./service.ts";

/** Publishes the inventory outbox (StockReserved, StockRejected) to Kafka. */
export const relayInventoryEvents = serviceOutboxRelay({
  service: "inventory",
  schema: "inventory",
  vars: config,
  settings: serviceSettings,
});
