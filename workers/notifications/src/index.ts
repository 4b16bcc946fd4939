import { createServiceApp } from "@edgebank/service";

/**
 * The notifications service. Its features arrive with their issues; for now it is the platform's
 * service skeleton: shared middleware, its database, health and readiness.
 */
const { app } = createServiceApp({ name: "notifications", dbBinding: "NOTIFICATIONS_DB", dbSchema: "notifications" });

export default app;
