import { createServiceApp } from "@edgebank/service";

/**
 * The transfers service. Its features arrive with their issues; for now it is the platform's
 * service skeleton: shared middleware, its database, health and readiness.
 */
const { app } = createServiceApp({ name: "transfers", dbBinding: "TRANSFERS_DB", dbSchema: "transfers" });

export default app;
