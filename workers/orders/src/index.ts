import { relayOrderEvents } from "./events.ts";
import { registerOrderRoutes } from "./routes/orders.ts";
import { app } from "./service.ts";

/**
 * The orders service: buyers order a merchant's products; payment and stock follow by events
 * (the choreography of issue 7), each order ending CONFIRMED or CANCELLED.
 */
registerOrderRoutes(app);

export default {
  fetch: app.fetch,
  /** Every minute: publish what the relay after each change left pending. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(relayOrderEvents(env, "cron"));
  },
} satisfies ExportedHandler<Env>;
