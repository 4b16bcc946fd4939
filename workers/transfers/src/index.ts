import { registerTransferRoutes } from "./routes/transfers.ts";
import { app } from "./service.ts";

/**
 * The transfers service: money moved between accounts as an orchestrated saga (one
 * TransferSagaDO per transfer), durable idempotency records, and the outbox of its outcomes.
 */
registerTransferRoutes(app);

export { TransferSagaDO } from "./saga/transfer-saga-do.ts";
export default app;
