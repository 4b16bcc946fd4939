import { createServiceApp } from "@edgebank/service";

/**
 * The ledger service. Its features arrive with their issues; for now it is the platform's
 * service skeleton: shared middleware, its database, health and readiness.
 */
const { app } = createServiceApp({ name: "ledger", dbBinding: "LEDGER_DB", dbSchema: "ledger" });

export default app;
