import { bindingWith, defineConfig } from "@edgebank/config";
import { databaseSettings } from "@edgebank/db";
import { shardOf } from "@edgebank/ids";
import { createServiceApp } from "@edgebank/service";
import { z } from "zod";

/** The accounts service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({
  name: "accounts",
  dbBinding: "ACCOUNTS_DB",
  dbSchema: "accounts",
  outbox: true,
});

/** The AccountDO and AccountsWriterDO namespaces, validated once like every binding. */
const objects = defineConfig(
  z.object({
    ACCOUNT: bindingWith("idFromName", "get").transform((ns) => ns as unknown as Env["ACCOUNT"]),
    ACCOUNTS_WRITER: bindingWith("idFromName", "get").transform((ns) => ns as unknown as Env["ACCOUNTS_WRITER"]),
  }),
);

export function accountObjects(env: object): Env["ACCOUNT"] {
  return objects(env).ACCOUNT;
}

/**
 * How many writers the accounts database has (AccountsWriterDO). Not part of any stored
 * address: the writers hold no state, so it may change at any deploy. Fewer writers group more
 * accounts' commits into one transaction; more spread the work over more objects.
 */
export const ACCOUNTS_WRITERS = 4;

/** The writer through which account `accountId`'s object reads and commits. */
export function accountsWriterOf(env: object, accountId: string) {
  const namespace = objects(env).ACCOUNTS_WRITER;
  return namespace.get(namespace.idFromName(`writer:${shardOf(accountId, ACCOUNTS_WRITERS)}`));
}

/** The database settings of an env, for work done outside a request (the writers, the outbox relay). */
export function serviceSettings(env: object) {
  const parsed = config(env);
  return databaseSettings(parsed, parsed.DB);
}
