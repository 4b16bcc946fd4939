import { createServiceApp } from "@edgebank/service";

/**
 * The auth service. Its features arrive with their issues; for now it is the platform's
 * service skeleton: shared middleware, its database, health and readiness.
 */
const { app } = createServiceApp({ name: "auth", dbBinding: "AUTH_DB", dbSchema: "auth" });

export default app;
