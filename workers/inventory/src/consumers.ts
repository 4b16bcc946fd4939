import { bindingWith, defineConfig } from "@edgebank/config";
import type { ConsumerSpec } from "@edgebank/consumer";
import { type ConsumerHost, EventConsumerDO, startConsumerObjects } from "@edgebank/consumer/durable-object";
import { z } from "zod";
import { commitForOrder, releaseForOrder, rememberOrder, reserveForOrder } from "./domain/choreography.ts";
import { relayInventoryEvents } from "./events.ts";
import { config, serviceSettings } from "./service.ts";

const consumerVars = defineConfig(
  z.object({
    CONSUMER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
    CONSUMER_POLL_MS: z.coerce.number().int().min(0).max(5_000).default(1_000),
    EVENT_CONSUMER: bindingWith("idFromName", "get").transform(
      (ns) => ns as unknown as DurableObjectNamespace<EventConsumerDO>,
    ),
  }),
);

/** Inventory's consumers in the order choreography: the orders and payments topics. */
export function consumers(env: object): ConsumerSpec[] {
  const { CONSUMER_MAX_ATTEMPTS } = consumerVars(env);
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
      types: ["PaymentAuthorized", "PaymentCompleted", "PaymentVoided"],
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      handle: (tx, event) => {
        if (event.type === "PaymentAuthorized") return reserveForOrder(tx, event);
        if (event.type === "PaymentCompleted") return commitForOrder(tx, event);
        return releaseForOrder(tx, event);
      },
    },
  ];
}

export function startConsumers(env: object): Promise<void> {
  return startConsumerObjects(consumerVars(env).EVENT_CONSUMER, consumers(env));
}

/** The consumer objects and their specs, for the operators' routes. */
export function consumerObjects(env: object) {
  return { namespace: consumerVars(env).EVENT_CONSUMER, specs: consumers(env) };
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
      pollMs: consumerVars(this.env).CONSUMER_POLL_MS,
      afterBatch: () => relayInventoryEvents(this.env, "commit"),
    };
  }
}
