import { createServiceApp } from "@edgebank/service";

/**
 * The inventory service. Its features arrive with their issues; for now it is the platform's
 * service skeleton: shared middleware, its database, health and readiness.
 */
const { app } = createServiceApp({ name: "inventory", dbBinding: "INVENTORY_DB", dbSchema: "inventory" });

export default app;
