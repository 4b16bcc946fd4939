import { baseVars, defineConfig } from "@edgebank/config";
import {
  checkDatabase,
  type DatabaseVariables,
  databaseMiddleware,
  databaseSettings,
  databaseVars,
  hyperdriveBinding,
} from "@edgebank/db";
import { type AppEnv, createApp, registerHealth } from "@edgebank/http";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";

export interface ServiceDefinition {
  /** Service name: logs, health, OpenAPI title. */
  name: string;
  /** Name of the worker's Hyperdrive binding, e.g. `ACCOUNTS_DB`. */
  dbBinding: string;
  /** PostgreSQL schema the service's migrations create and its tables live in. */
  dbSchema: string;
}

/** The Hono environment of a data service: any bindings, the shared variables and its database. */
export type ServiceEnv = AppEnv<Record<string, unknown>, DatabaseVariables>;

const serviceVars = baseVars.extend(databaseVars.shape).extend({ DB: hyperdriveBinding });

/**
 * The config schema of a data service: the common vars, the database vars, and its Hyperdrive
 * binding (named per service, e.g. `ACCOUNTS_DB`, and validated as `DB`).
 */
export function serviceConfigSchema(dbBinding: string) {
  return z.preprocess(
    (env) =>
      typeof env === "object" && env !== null ? { ...env, DB: (env as Record<string, unknown>)[dbBinding] } : env,
    serviceVars,
  );
}

export type ServiceConfig = z.output<typeof serviceVars>;

/**
 * A data service's app: the shared middleware and error model, a per-request database client
 * (`c.var.db()`), `GET /health`, and `GET /ready` that checks the database and the service's
 * schema. Features are registered on the returned app.
 */
export function createServiceApp(definition: ServiceDefinition): {
  app: OpenAPIHono<ServiceEnv>;
  config: (env: object) => ServiceConfig;
} {
  const config = defineConfig(serviceConfigSchema(definition.dbBinding));
  const app = createApp<ServiceEnv>({ service: definition.name, settings: config });
  app.use(
    databaseMiddleware((env) => {
      const parsed = config(env);
      return databaseSettings(parsed, parsed.DB);
    }),
  );
  registerHealth(app, {
    service: definition.name,
    settings: config,
    checks: { database: (c) => checkDatabase(c.var.db(), definition.dbSchema) },
  });
  return { app, config };
}
