import type { ConsumerSpec } from "@edgebank/consumer";
import {
  type ConsumerHost,
  consumerConfig,
  EventConsumerDO,
  startConsumerObjects,
} from "@edgebank/consumer/durable-object";
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

export function startConsumers(env: object): Promise<void> {
  return startConsumerObjects(consumerConfig(env).EVENT_CONSUMER, consumers(env));
}

/** The consumer objects and their specs, for the operators' routes. */
export function consumerObjects(env: object) {
  return { namespace: consumerConfig(env).EVENT_CONSUMER, specs: consumers(env) };
}

/** The consumer objects of this service (one per group and topic). */
export class InventoryConsumerDO extends EventConsumerDO<Env> {
  protected host(): ConsumerHost {
    const { SERVICE_VERSION, LOG_LEVEL } = config(this.env);
    return {
      service: "inventory",
      version: SERVICE_VERSION,
      logLevel: LOG_LEVEL,
      settings: serviceSettings(this.env),
      consumers: consumers(this.env),
      pollMs: consumerConfig(this.env).CONSUMER_POLL_MS,
      afterBatch: () => relayInventoryEvents(this.env, "commit"),
    };
  }
}
