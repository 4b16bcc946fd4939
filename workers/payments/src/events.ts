import { serviceOutboxRelay } from "@edgebank/outbox";
import { OutboxRelayDO } from "@edgebank/outbox/durable-object";
import { config, serviceSettings } from "./service.ts";

/** Publishes the payments outbox to Kafka: for the relay object, after the consumers' batches, and from the cron sweeper. */
export const relayPaymentEvents = serviceOutboxRelay({
  service: "payments",
  schema: "payments",
  vars: config,
  settings: serviceSettings,
});

/**
 * The payments service's relay object (bound as OUTBOX_RELAY): every payment's and refund's
 * flow object pokes it once it settled its row, and it relays for all of them, one run at a
 * time, instead of a relay per request.
 */
export class PaymentsOutboxRelayDO extends OutboxRelayDO<Env> {
  protected readonly service = "payments";
  protected relayOutbox(): Promise<void> {
    return relayPaymentEvents(this.env, "commit");
  }
}
