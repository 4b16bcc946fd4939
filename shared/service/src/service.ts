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
import { outboxBacklog } from "@edgebank/outbox";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";

export interface ServiceDefinition {
  /** Service name: logs, health, OpenAPI title. */
  name: string;
  /** Name of the worker's Hyperdrive binding, e.g. `ACCOUNTS_DB`. */
  dbBinding: string;
  /** PostgreSQL schema the service's migrations create and its tables live in. */
  dbSchema: string;
  /** The service has an outbox (in its schema): `/ready` shows its backlog. */
  outbox?: boolean;
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
    checks: {
      // With an outbox, its backlog too (after the check: one session, one query at a time).
      // Informational: a backlog never makes the service unready; metrics and alerts watch it.
      database: async (c: Context<ServiceEnv>) => {
        await checkDatabase(c.var.db(), definition.dbSchema);
        if (!definition.outbox) return;
        const backlog = await outboxBacklog(c.var.db(), definition.dbSchema);
        return { outboxPending: backlog.pending, outboxOldestAgeSeconds: backlog.oldestAgeSeconds };
      },
    },
  });
  return { app, config };
}
