import { reportingDurableObject, withErrorReporting } from "@edgebank/http";
import { relayTransferEvents, TransfersOutboxRelayDO as TransfersOutboxRelayDOClass } from "./events.ts";
import { registerTransferRoutes } from "./routes/transfers.ts";
import { TransferSagaDO as TransferSagaDOClass } from "./saga/transfer-saga-do.ts";
import { app } from "./service.ts";

/**
 * The transfers service: money moved between accounts as an orchestrated saga (TransferSagaDO,
 * 64 hosts sharded by transfer id), durable idempotency records, and the outbox of its
 * outcomes, relayed to Kafka.
 */
registerTransferRoutes(app);

/** TransferSagaDO, reporting what its RPC methods and alarms throw. */
export type TransferSagaDO = TransferSagaDOClass;
export const TransferSagaDO = reportingDurableObject("transfers", TransferSagaDOClass);
/** TransfersOutboxRelayDO, reporting what its RPC methods throw. */
export type TransfersOutboxRelayDO = TransfersOutboxRelayDOClass;
export const TransfersOutboxRelayDO = reportingDurableObject("transfers", TransfersOutboxRelayDOClass);
export default withErrorReporting("transfers", {
  fetch: app.fetch,
  /** The outbox sweeper: publishes what the relay object left pending (a lost poke, an eviction). */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(relayTransferEvents(env, "cron"));
  },
} satisfies ExportedHandler<Env>);
