import type { ConsumerSpec } from "@edgebank/consumer";
import { consumerConfig, EventConsumerDO, serviceConsumers } from "@edgebank/consumer/durable-object";
import { commitForOrder, releaseForOrder, rememberOrder, reserveForOrder } from "./domain/choreography.ts";
import { relayInventoryEvents } from "./events.ts";
import { config, serviceSettings } from "./service.ts";

/** Inventory's consumers in the order choreography: the orders and payments topics. */
export function consumers(env: object): ConsumerSpec[] {
  const { CONSUMER_MAX_ATTEMPTS } = consumerConfig(env);
  return [
    {
      group: "inventory",
      topic: "edgebank.orders",
      schema: "inventory",
      types: ["OrderCreated", "OrderCancelled"],
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      handle: (tx, event) => (event.type === "OrderCreated" ? rememberOrder(tx, event) : releaseForOrder(tx, event)),
    },
    {
      group: "inventory",
      topic: "edgebank.payments",
      schema: "inventory",
      types: ["PaymentAuthorized", "PaymentCaptured", "PaymentDeclined", "PaymentVoided"],
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      handle: (tx, event) => {
        if (event.type === "PaymentAuthorized") return reserveForOrder(tx, event);
        if (event.type === "PaymentCaptured") return commitForOrder(tx, event);
        // Voided, or declined at the capture (the authorization lapsed): the stock goes back.
        return releaseForOrder(tx, event);
      },
    },
  ];
}

const service = serviceConsumers({
  service: "inventory",
  vars: config,
  settings: serviceSettings,
  specs: consumers,
  afterBatch: (env) => relayInventoryEvents(env, "commit"),
});

/** Starts every consumer object (idempotent: one that runs keeps running). */
export const startConsumers = service.start;
/** The consumer objects and their specs, for the operators' routes. */
export const consumerObjects = service.objects;

/** The consumer objects of this service (one per group and topic). */
export class InventoryConsumerDO extends EventConsumerDO<Env> {
  protected host() {
    return service.host(this.env);
  }
}
