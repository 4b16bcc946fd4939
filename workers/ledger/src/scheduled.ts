import { withDatabase } from "@edgebank/db";
import { createLogger } from "@edgebank/http";
import { checkpointHead } from "./domain/journal.ts";
import { checkpointKey, config, serviceSettings } from "./service.ts";

/** The checkpoint cron: signs the chain head if entries were recorded since the last checkpoint. */
export async function scheduled(controller: ScheduledController, env: object, ctx: ExecutionContext): Promise<void> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  const log = createLogger({ service: "ledger", version: SERVICE_VERSION }, LOG_LEVEL);
  ctx.waitUntil(
    (async () => {
      const key = await checkpointKey(env);
      return withDatabase(serviceSettings(env), (db) => checkpointHead(db, key));
    })().then(
      (sequence) =>
        log.info("ledger checkpoint", {
          cron: controller.cron,
          signed: sequence === undefined ? null : String(sequence),
        }),
      (error: unknown) =>
        log.error("ledger checkpoint failed", {
          cron: controller.cron,
          error: error instanceof Error ? error.message : String(error),
        }),
    ),
  );
}
