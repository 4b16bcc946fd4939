import { reportingDurableObject, withErrorReporting } from "@edgebank/http";
import { AccountDO as AccountDOClass } from "./account-do.ts";
import { AccountsOutboxRelayDO as AccountsOutboxRelayDOClass, relayAccountEvents } from "./events.ts";
import { registerAccountRoutes } from "./routes/accounts.ts";
import { registerInternalRoutes } from "./routes/internal.ts";
import { registerOperatorRoutes } from "./routes/operator.ts";
import { app } from "./service.ts";

export { AccountsRpc } from "./rpc.ts";

/**
 * The accounts service: accounts, their owners and balances, and the AccountDO, the single
 * writer of each account's money, and the relay of its outbox to Kafka.
 */
registerAccountRoutes(app);
registerOperatorRoutes(app);
registerInternalRoutes(app);

/** AccountDO, reporting what its RPC methods and alarms throw. */
export type AccountDO = AccountDOClass;
export const AccountDO = reportingDurableObject("accounts", AccountDOClass);

/** AccountsOutboxRelayDO, reporting what its RPC methods and alarms throw. */
export type AccountsOutboxRelayDO = AccountsOutboxRelayDOClass;
export const AccountsOutboxRelayDO = reportingDurableObject("accounts", AccountsOutboxRelayDOClass);
export default withErrorReporting("accounts", {
  fetch: app.fetch,
  /** The outbox sweeper: publishes what the relay after each commit left pending. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(relayAccountEvents(env, "cron"));
  },
} satisfies ExportedHandler<Env>);
