import { createServiceApp } from "@edgebank/service";

/**
 * The payments service. Its features arrive with their issues; for now it is the platform's
 * service skeleton: shared middleware, its database, health and readiness.
 */
const { app } = createServiceApp({ name: "payments", dbBinding: "PAYMENTS_DB", dbSchema: "payments" });

export default app;
