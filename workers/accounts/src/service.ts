import { bindingWith, defineConfig } from "@edgebank/config";
import { databaseSettings } from "@edgebank/db";
import { createServiceApp } from "@edgebank/service";
import { z } from "zod";

/** The accounts service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({
  name: "accounts",
  dbBinding: "ACCOUNTS_DB",
  dbSchema: "accounts",
  outbox: true,
});

/** The AccountDO namespace, validated once like every binding. */
const objects = defineConfig(
  z.object({ ACCOUNT: bindingWith("idFromName", "get").transform((ns) => ns as unknown as Env["ACCOUNT"]) }),
);

export function accountObjects(env: object): Env["ACCOUNT"] {
  return objects(env).ACCOUNT;
}

/** The database settings of an env, for work done outside a request (the outbox relay). */
export function serviceSettings(env: object) {
  const parsed = config(env);
  return databaseSettings(parsed, parsed.DB);
}
