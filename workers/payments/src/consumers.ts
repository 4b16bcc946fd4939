import type { ConsumerSpec } from "@edgebank/consumer";
import {
  type ConsumerHost,
  consumerConfig,
  EventConsumerDO,
  startConsumerObjects,
} from "@edgebank/consumer/durable-object";
import { authorizeOrder, cancelOrderPayment, captureOrder, voidOrder } from "./domain/order-payments.ts";
import { relayPaymentEvents } from "./events.ts";
import { config, serviceSettings } from "./service.ts";

/**
 * Payments' consumers in the order choreography: the orders and inventory topics. Their work
 * calls accounts and the ledger, so it is done in `prepare` (see order-payments.ts); the inbox
 * transaction then only records the event as applied.
 */
export function consumers(env: object): ConsumerSpec[] {
  const { CONSUMER_MAX_ATTEMPTS } = consumerConfig(env);
  return [
    {
      group: "payments",
      topic: "edgebank.orders",
      schema: "payments",
      types: ["OrderCreated", "OrderCancelled"],
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      prepare: (db, event) =>
        event.type === "OrderCreated" ? authorizeOrder(env, db, event) : cancelOrderPayment(env, db, event),
    },
    {
      group: "payments",
      topic: "edgebank.inventory",
      schema: "payments",
      types: ["StockReserved", "StockRejected"],
      maxAttempts: CONSUMER_MAX_ATTEMPTS,
      prepare: async (db, event) => {
        if (event.type === "StockReserved") return captureOrder(env, db, event);
        const { orderId, reason } = event.data as { orderId: string; reason?: string };
        await voidOrder(env, db, orderId, reason ?? "out_of_stock", event.traceparent);
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
export class PaymentsConsumerDO extends EventConsumerDO<Env> {
  protected host(): ConsumerHost {
    const { SERVICE_VERSION, LOG_LEVEL } = config(this.env);
    return {
      service: "payments",
      version: SERVICE_VERSION,
      logLevel: LOG_LEVEL,
      settings: serviceSettings(this.env),
      consumers: consumers(this.env),
      pollMs: consumerConfig(this.env).CONSUMER_POLL_MS,
      // What the handlers wrote to the outbox (authorized, completed, voided…) leaves now.
      afterBatch: () => relayPaymentEvents(this.env, "commit"),
    };
  }
}
