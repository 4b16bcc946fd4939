import { bindingWith, defineConfig } from "@edgebank/config";
import type { ConsumerSpec } from "@edgebank/consumer";
import { type ConsumerHost, EventConsumerDO, startConsumerObjects } from "@edgebank/consumer/durable-object";
import { z } from "zod";
import { authorizeOrder, cancelOrderPayment, captureOrder, voidOrder } from "./domain/order-payments.ts";
import { relayPaymentEvents } from "./events.ts";
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

/** Payments' consumers in the order choreography: the orders and inventory topics. */
export function consumers(env: object): ConsumerSpec[] {
  const { CONSUMER_MAX_ATTEMPTS } = consumerVars(env);
  return [
    {
      group: "payments",
      topic: "edgebank.orders",
      schema: "payments",
      types: ["OrderCreated", "OrderCancelled"],
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      handle: (tx, event) =>
        event.type === "OrderCreated" ? authorizeOrder(env, tx, event) : cancelOrderPayment(env, tx, event),
    },
    {
      group: "payments",
      topic: "edgebank.inventory",
      schema: "payments",
      types: ["StockReserved", "StockRejected"],
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      handle: async (tx, event) => {
        if (event.type === "StockReserved") return captureOrder(env, tx, event);
        const { orderId, reason } = event.data as { orderId: string; reason?: string };
        await voidOrder(env, tx, orderId, reason ?? "out_of_stock", event.traceparent);
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
export class PaymentsConsumerDO extends EventConsumerDO<Env> {
  protected host(): ConsumerHost {
    const { SERVICE_VERSION, LOG_LEVEL } = config(this.env);
    return {
      service: "payments",
      version: SERVICE_VERSION,
      logLevel: LOG_LEVEL,
      settings: serviceSettings(this.env),
      consumers: consumers(this.env),
      pollMs: consumerVars(this.env).CONSUMER_POLL_MS,
      // What the handlers wrote to the outbox (authorized, completed, voided…) leaves now.
      afterBatch: () => relayPaymentEvents(this.env, "commit"),
    };
  }
}
