import { serviceOutboxRelay } from "@edgebank/outbox";
import { OutboxRelayDO } from "@edgebank/outbox/durable-object";
import { config, serviceSettings } from "./service.ts";

/** Publishes the transfers outbox to Kafka: for the relay object after settlements, and from the cron sweeper. */
export const relayTransferEvents = serviceOutboxRelay({
  service: "transfers",
  schema: "transfers",
  vars: config,
  settings: serviceSettings,
});

/**
 * The transfers service's relay object (bound as OUTBOX_RELAY): every TransferSagaDO pokes it
 * once it settled its transfer, and it relays for all of them, one run at a time (many
 * settlements, a few runs), instead of a relay per transfer.
 */
export class TransfersOutboxRelayDO extends OutboxRelayDO<Env> {
  protected readonly service = "transfers";
  protected relayOutbox(): Promise<void> {
    return relayTransferEvents(this.env, "commit");
  }
}
