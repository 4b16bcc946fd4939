import { databaseSettings } from "@edgebank/db";
import { createServiceApp } from "@edgebank/service";

/** The auth service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({ name: "auth", dbBinding: "AUTH_DB", dbSchema: "auth" });

/** The database settings of a request's env, for work done outside the request middleware. */
export function serviceSettings(env: object) {
  const parsed = config(env);
  return databaseSettings(parsed, parsed.DB);
}
