import type { MiddlewareHandler } from "hono";
import { type Database, type DatabaseHandle, openDatabase } from "./client.ts";
import type { DatabaseSettings } from "./settings.ts";

/** Request variables set by the database middleware. */
export interface DatabaseVariables {
  /** The request's database client, opened on first use. */
  db: () => Database;
}

/**
 * Gives each request its own lazily opened client (`c.var.db()`) and closes it after the
 * response with `waitUntil`, so no socket outlives the request that opened it.
 */
export function databaseMiddleware(
  settings: (env: object) => DatabaseSettings,
): MiddlewareHandler<{ Variables: DatabaseVariables }> {
  return async function database(c, next) {
    let handle: DatabaseHandle | undefined;
    c.set("db", () => {
      handle ??= openDatabase(settings(c.env as object));
      return handle.db;
    });
    try {
      await next();
    } finally {
      if (handle) c.executionCtx.waitUntil(handle.close());
    }
  };
}
