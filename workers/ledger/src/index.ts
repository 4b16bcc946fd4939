import { reportingDurableObject, withErrorReporting } from "@edgebank/http";
import { LedgerChainDO as LedgerChainDOClass } from "./chain-do.ts";
import { registerAuditRoutes } from "./routes/audit.ts";
import { registerEntryRoutes } from "./routes/entries.ts";
import { registerReconciliationRoutes } from "./routes/reconciliations.ts";
import { scheduled } from "./scheduled.ts";
import { app } from "./service.ts";

export { LedgerRpc } from "./rpc.ts";

/** LedgerChainDO, reporting what its RPC methods throw. */
export type LedgerChainDO = LedgerChainDOClass;
export const LedgerChainDO = reportingDurableObject("ledger", LedgerChainDOClass);

/**
 * The ledger service: an append-only double-entry journal of every completed money movement,
 * chained by hashes and anchored by signed checkpoints, its verification, and its
 * reconciliation with the accounts service.
 */
registerEntryRoutes(app);
registerAuditRoutes(app);
registerReconciliationRoutes(app);

export default withErrorReporting("ledger", { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>);
