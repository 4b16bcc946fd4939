import { serviceOutboxRelay } from "@edgebank/outbox";
import { OutboxRelayDO } from "@edgebank/outbox/durable-object";
import { config, serviceSettings } from "./service.ts";

/** Publishes the accounts outbox to Kafka: for the relay object after commits, and from the cron sweeper. */
export const relayAccountEvents = serviceOutboxRelay({
  service: "accounts",
  schema: "accounts",
  vars: config,
  settings: serviceSettings,
});

/**
 * The accounts service's relay object (bound as OUTBOX_RELAY): every AccountDO pokes it after
 * its commits, and it relays for all of them, one run at a time.
 */
export class AccountsOutboxRelayDO extends OutboxRelayDO<Env> {
  protected readonly service = "accounts";
  protected relayOutbox(): Promise<void> {
    return relayAccountEvents(this.env, "commit");
  }
}
