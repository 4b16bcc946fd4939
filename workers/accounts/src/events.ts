import { traceWork } from "@edgebank/http";
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
  protected relay(parent: string | undefined): Promise<void> {
    return traceWork(
      "accounts",
      this.env,
      { name: "AccountsOutboxRelayDO run", parent, waitUntil: (promise) => this.ctx.waitUntil(promise) },
      () => relayAccountEvents(this.env, "commit"),
    );
  }
}
