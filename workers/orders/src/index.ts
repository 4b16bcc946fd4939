import { fetchStartingConsumers } from "@edgebank/consumer/durable-object";
import { registerConsumerRoutes } from "@edgebank/consumer/routes";
import { createLogger, reportingDurableObject, withErrorReporting } from "@edgebank/http";
import { consumerObjects, OrdersConsumerDO as OrdersConsumerDOClass, startConsumers } from "./consumers.ts";
import { relayOrderEvents } from "./events.ts";
import { registerOrderRoutes } from "./routes/orders.ts";
import { app, config } from "./service.ts";

/**
 * The orders service: buyers order a merchant's products; payment and stock follow by events
 * (the choreography of issue 7), each order ending CONFIRMED or CANCELLED.
 */
registerOrderRoutes(app);
registerConsumerRoutes(app, "orders", consumerObjects);

const logger = (env: Env) => {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  return createLogger({ service: "orders", version: SERVICE_VERSION }, LOG_LEVEL);
};

/** OrdersConsumerDO, reporting what its RPC methods and alarms throw. */
export type OrdersConsumerDO = OrdersConsumerDOClass;
export const OrdersConsumerDO = reportingDurableObject("orders", OrdersConsumerDOClass);
export default withErrorReporting("orders", {
  /** Requests also make sure the choreography's consumer runs. */
  fetch: fetchStartingConsumers<Env>(app.fetch, startConsumers, logger),
  /** Every minute: keep the consumer running; publish what the relay after each change left pending. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(Promise.all([startConsumers(env), relayOrderEvents(env, "cron")]));
  },
} satisfies ExportedHandler<Env>);
