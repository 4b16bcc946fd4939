import { withDatabase } from "@edgebank/db";
import { createLogger, describeError } from "@edgebank/http";
import { expireReservations } from "./domain/stock.ts";
import { registerProductRoutes } from "./routes/products.ts";
import { app, config, serviceSettings } from "./service.ts";

/**
 * The inventory service: the product catalogue, stock per SKU, and reservations per order that
 * never oversell (the orders choreography reserves, commits and releases them).
 */
registerProductRoutes(app);

export default {
  fetch: app.fetch,
  /** Every minute: reservations nobody confirmed in time give their stock back. */
  scheduled(_controller, env, ctx) {
    const { SERVICE_VERSION, LOG_LEVEL } = config(env);
    const log = createLogger({ service: "inventory", version: SERVICE_VERSION }, LOG_LEVEL);
    ctx.waitUntil(
      withDatabase(serviceSettings(env), (db) => expireReservations(db)).then(
        (expired) => {
          if (expired > 0) log.info("reservations expired", { expired });
        },
        (error: unknown) => log.error("reservation expiry failed", describeError(error)),
      ),
    );
  },
} satisfies ExportedHandler<Env>;
