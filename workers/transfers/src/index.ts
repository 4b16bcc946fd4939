import { relayTransferEvents } from "./events.ts";
import { registerTransferRoutes } from "./routes/transfers.ts";
import { app } from "./service.ts";

/**
 * The transfers service: money moved between accounts as an orchestrated saga (one
 * TransferSagaDO per transfer), durable idempotency records, and the outbox of its outcomes,
 * relayed to Kafka.
 */
registerTransferRoutes(app);

export { TransferSagaDO } from "./saga/transfer-saga-do.ts";
export default {
  fetch: app.fetch,
  /** The outbox sweeper: publishes what the relay after each settlement left pending. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(relayTransferEvents(env, "cron"));
  },
} satisfies ExportedHandler<Env>;
