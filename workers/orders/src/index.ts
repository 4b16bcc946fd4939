import { createServiceApp } from "@edgebank/service";

/**
 * The orders service. Its features arrive with their issues; for now it is the platform's
 * service skeleton: shared middleware, its database, health and readiness.
 */
const { app } = createServiceApp({ name: "orders", dbBinding: "ORDERS_DB", dbSchema: "orders" });

export default app;
