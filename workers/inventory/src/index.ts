import { fetchStartingConsumers } from "@edgebank/consumer/durable-object";
import { registerConsumerRoutes } from "@edgebank/consumer/routes";
import { withDatabase } from "@edgebank/db";
import { createLogger, describeError, reportingDurableObject, withErrorReporting } from "@edgebank/http";
import { consumerObjects, InventoryConsumerDO as InventoryConsumerDOClass, startConsumers } from "./consumers.ts";
import { expireReservations } from "./domain/stock.ts";
import { relayInventoryEvents } from "./events.ts";
import { registerProductRoutes } from "./routes/products.ts";
import { app, config, serviceSettings } from "./service.ts";

export { InventoryRpc } from "./rpc.ts";

/**
 * The inventory service: the product catalogue, stock per SKU, and reservations per order that
 * never oversell (the orders choreography reserves, commits and releases them).
 */
registerProductRoutes(app);
registerConsumerRoutes(app, "inventory", consumerObjects);

const logger = (env: Env) => {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  return createLogger({ service: "inventory", version: SERVICE_VERSION }, LOG_LEVEL);
};

/** InventoryConsumerDO, reporting what its RPC methods and alarms throw. */
export type InventoryConsumerDO = InventoryConsumerDOClass;
export const InventoryConsumerDO = reportingDurableObject("inventory", InventoryConsumerDOClass);
export default withErrorReporting("inventory", {
  /** Requests also make sure the order choreography's consumers run. */
  fetch: fetchStartingConsumers<Env>(app.fetch, startConsumers, logger),
  /**
   * Every minute: keep the consumers running; reservations nobody confirmed in time give their
   * stock back; publish what the outbox holds.
   */
  scheduled(_controller, env, ctx) {
    const log = logger(env);
    ctx.waitUntil(
      Promise.all([
        startConsumers(env),
        withDatabase(serviceSettings(env), (db) => expireReservations(db)).then(
          (expired) => {
            if (expired > 0) log.info("reservations expired", { expired });
          },
          (error: unknown) => log.error("reservation expiry failed", describeError(error)),
        ),
        relayInventoryEvents(env, "cron"),
      ]),
    );
  },
} satisfies ExportedHandler<Env>);
