import type { ConsumerSpec, KnownEvent } from "@edgebank/consumer";
import { consumerConfig, EventConsumerDO, serviceConsumers } from "@edgebank/consumer/durable-object";
import type { Database, Transaction } from "@edgebank/db";
import { expectEvent } from "@edgebank/events";
import { moveOrder } from "./domain/orders.ts";
import { relayOrderEvents } from "./events.ts";
import { config, serviceSettings } from "./service.ts";

/**
 * Orders' part of the choreography: the order follows its payment. PaymentAuthorized →
 * PAYMENT_AUTHORIZED; PaymentCaptured (after its stock was reserved) → CONFIRMED with
 * OrderConfirmed; PaymentDeclined or PaymentVoided (out of stock, or let go) → CANCELLED
 * with OrderCancelled. An order already cancelled by its buyer stays so (payments refunds a
 * capture that raced the cancel).
 */
async function followPayment(tx: Transaction, event: KnownEvent): Promise<void> {
  const { orderId, reason } = expectEvent(
    event,
    "PaymentAuthorized",
    "PaymentCaptured",
    "PaymentDeclined",
    "PaymentVoided",
  ).data;
  if (!orderId) return; // a payment that pays no order
  const db = tx as unknown as Database;
  switch (event.type) {
    case "PaymentAuthorized":
      await moveOrder(db, orderId, ["PENDING"], "PAYMENT_AUTHORIZED");
      return;
    case "PaymentCaptured":
      await moveOrder(db, orderId, ["PENDING", "PAYMENT_AUTHORIZED"], "CONFIRMED", { event: "OrderConfirmed" });
      return;
    case "PaymentDeclined":
      await moveOrder(db, orderId, ["PENDING", "PAYMENT_AUTHORIZED"], "CANCELLED", {
        reason: `payment_declined:${reason ?? "declined"}`,
        event: "OrderCancelled",
      });
      return;
    case "PaymentVoided":
      await moveOrder(db, orderId, ["PENDING", "PAYMENT_AUTHORIZED"], "CANCELLED", {
        reason: reason ?? "payment_voided",
        event: "OrderCancelled",
      });
      return;
    default:
      return;
  }
}

export function consumers(env: object): ConsumerSpec[] {
  return [
    {
      group: "orders",
      topic: "edgebank.payments",
      schema: "orders",
      types: ["PaymentAuthorized", "PaymentCaptured", "PaymentDeclined", "PaymentVoided"],
      maxAttempts: consumerConfig(env).CONSUMER_MAX_ATTEMPTS,
      handle: followPayment,
    },
  ];
}

const service = serviceConsumers({
  service: "orders",
  vars: config,
  settings: serviceSettings,
  specs: consumers,
  afterBatch: (env) => relayOrderEvents(env, "commit"),
});

/** Starts every consumer object (idempotent: one that runs keeps running). */
export const startConsumers = service.start;
/** The consumer objects and their specs, for the operators' routes. */
export const consumerObjects = service.objects;

/** The consumer object of this service. */
export class OrdersConsumerDO extends EventConsumerDO<Env> {
  protected host() {
    return service.host(this.env);
  }
}
