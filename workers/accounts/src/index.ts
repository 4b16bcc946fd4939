import { createServiceApp } from "@edgebank/service";

/**
 * The accounts service. Its features arrive with their issues; for now it is the platform's
 * service skeleton: shared middleware, its database, health and readiness.
 */
const { app } = createServiceApp({ name: "accounts", dbBinding: "ACCOUNTS_DB", dbSchema: "accounts" });

export default app;
