import { bindingWith, defineConfig } from "@edgebank/config";
import { databaseSettings } from "@edgebank/db";
import { createServiceApp } from "@edgebank/service";
import { z } from "zod";
import { type CheckpointKey, importCheckpointKey } from "./domain/chain.ts";

/** The ledger service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({ name: "ledger", dbBinding: "LEDGER_DB", dbSchema: "ledger" });

/**
 * The ledger's own settings. LEDGER_CHECKPOINT_KEY is a Workers secret (32 random bytes,
 * base64url) that signs checkpoints of the hash chain; whoever can write to the database
 * cannot sign a forged chain head without it.
 */
export const ledgerConfig = defineConfig(
  z.object({
    LEDGER_CHECKPOINT_KEY: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "32 bytes, base64url without padding"),
  }),
);

const keys = new Map<string, Promise<CheckpointKey>>();

/** The checkpoint key of this env, imported once per isolate. */
export function checkpointKey(env: object): Promise<CheckpointKey> {
  const secret = ledgerConfig(env).LEDGER_CHECKPOINT_KEY;
  let key = keys.get(secret);
  if (!key) {
    key = importCheckpointKey(secret);
    keys.set(secret, key);
  }
  return key;
}

/** The database settings of an env, for work done outside a request (the cron). */
export function serviceSettings(env: object) {
  const parsed = config(env);
  return databaseSettings(parsed, parsed.DB);
}

const objects = defineConfig(
  z.object({
    LEDGER_CHAIN: bindingWith("idFromName", "get").transform((ns) => ns as unknown as Env["LEDGER_CHAIN"]),
  }),
);

/** The chain's one writer (see LedgerChainDO). */
export function chainOf(env: object) {
  const namespace = objects(env).LEDGER_CHAIN;
  return namespace.get(namespace.idFromName("chain"));
}
