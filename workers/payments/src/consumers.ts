import type { ConsumerSpec } from "@edgebank/consumer";
import { consumerConfig, EventConsumerDO, serviceConsumers } from "@edgebank/consumer/durable-object";
import { expectEvent } from "@edgebank/events";
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
        const { orderId, reason } = expectEvent(event, "StockRejected").data;
        await voidOrder(env, db, orderId, reason ?? "out_of_stock", event.traceparent);
      },
    },
  ];
}

const service = serviceConsumers({
  service: "payments",
  vars: config,
  settings: serviceSettings,
  specs: consumers,
  // What the handlers wrote to the outbox (authorized, captured, voided…) leaves now.
  afterBatch: (env) => relayPaymentEvents(env, "commit"),
});

/** Starts every consumer object (idempotent: one that runs keeps running). */
export const startConsumers = service.start;
/** The consumer objects and their specs, for the operators' routes. */
export const consumerObjects = service.objects;

/** The consumer objects of this service (one per group and topic). */
export class PaymentsConsumerDO extends EventConsumerDO<Env> {
  protected host() {
    return service.host(this.env);
  }
}
