import { relayAccountEvents } from "./events.ts";
import { registerAccountRoutes } from "./routes/accounts.ts";
import { registerInternalRoutes } from "./routes/internal.ts";
import { registerOperatorRoutes } from "./routes/operator.ts";
import { app } from "./service.ts";

/**
 * The accounts service: accounts, their owners and balances, and the AccountDO, the single
 * writer of each account's money, and the relay of its outbox to Kafka.
 */
registerAccountRoutes(app);
registerOperatorRoutes(app);
registerInternalRoutes(app);

export { AccountDO } from "./account-do.ts";
export { AccountsOutboxRelayDO } from "./events.ts";
export default {
  fetch: app.fetch,
  /** The outbox sweeper: publishes what the relay after each commit left pending. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(relayAccountEvents(env, "cron"));
  },
} satisfies ExportedHandler<Env>;
