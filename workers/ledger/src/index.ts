import { registerAuditRoutes } from "./routes/audit.ts";
import { registerEntryRoutes } from "./routes/entries.ts";
import { scheduled } from "./scheduled.ts";
import { app } from "./service.ts";

/**
 * The ledger service: an append-only double-entry journal of every completed money movement,
 * chained by hashes and anchored by signed checkpoints, and its verification.
 */
registerEntryRoutes(app);
registerAuditRoutes(app);

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
