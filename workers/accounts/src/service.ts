import { createServiceApp } from "@edgebank/service";

/** The accounts service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({ name: "accounts", dbBinding: "ACCOUNTS_DB", dbSchema: "accounts" });
