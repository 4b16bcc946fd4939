import { withDatabase } from "@edgebank/db";
import { createLogger, describeError } from "@edgebank/http";
import { checkpointHead } from "./domain/journal.ts";
import { runReconciliation } from "./reconciliation.ts";
import { checkpointKey, config, serviceSettings } from "./service.ts";

/** The cron expressions of wrangler.toml, and what each one runs. */
export const CHECKPOINT_CRON = "*/10 * * * *";
export const RECONCILIATION_CRON = "7 * * * *";

/**
 * The ledger's Cron Triggers: every ten minutes the chain head is signed if entries were
 * recorded since the last checkpoint; every hour the ledger is reconciled with accounts.
 */
export async function scheduled(controller: ScheduledController, env: object, ctx: ExecutionContext): Promise<void> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  const log = createLogger({ service: "ledger", version: SERVICE_VERSION }, LOG_LEVEL);
  const fields = { cron: controller.cron };
  if (controller.cron === RECONCILIATION_CRON) {
    ctx.waitUntil(
      withDatabase(serviceSettings(env), (db) => runReconciliation(env, db, log, "cron", null)).catch(
        (error: unknown) => log.error("ledger reconciliation failed", { ...fields, ...describeError(error) }),
      ),
    );
    return;
  }
  ctx.waitUntil(
    (async () => {
      const key = await checkpointKey(env);
      return withDatabase(serviceSettings(env), (db) => checkpointHead(db, key));
    })().then(
      (sequence) =>
        log.info("ledger checkpoint", { ...fields, signed: sequence === undefined ? null : String(sequence) }),
      (error: unknown) => log.error("ledger checkpoint failed", { ...fields, ...describeError(error) }),
    ),
  );
}
