import { withDatabase } from "@edgebank/db";
import { createLogger, flushMetrics, recordMetric } from "@edgebank/http";
import { authConfig } from "./config.ts";
import { importKek } from "./domain/key-encryption.ts";
import { currentKeyAgeSeconds, ensureKeys, retireExpiredKeys, rotateKeys, rotationDue } from "./domain/signing-keys.ts";
import { config, serviceSettings } from "./service.ts";

/**
 * The key cron: make sure keys exist, rotate when the current key has signed for a whole
 * interval, and retire previous keys once every token they signed has expired.
 */
export async function runKeyMaintenance(
  env: object,
): Promise<{ rotated: boolean; retired: string[]; overdueSeconds: number }> {
  const settings = authConfig(env);
  const kek = await importKek(settings.SIGNING_KEY_KEK);
  return withDatabase(serviceSettings(env), async (db) => {
    await ensureKeys(db, kek);
    const due = await rotationDue(db, settings.KEY_ROTATION_INTERVAL_SECONDS);
    if (due) {
      await rotateKeys(db, kek, {
        accessTokenTtlSeconds: settings.ACCESS_TOKEN_TTL_SECONDS,
        actor: "cron",
        reason: "schedule",
      });
    }
    const retired = await retireExpiredKeys(db);
    // How far past its interval the current key is: above zero only while rotation fails.
    const overdueSeconds = Math.max(0, (await currentKeyAgeSeconds(db)) - settings.KEY_ROTATION_INTERVAL_SECONDS);
    return { rotated: due, retired, overdueSeconds };
  });
}

export async function scheduled(controller: ScheduledController, env: object, ctx: ExecutionContext): Promise<void> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  const log = createLogger({ service: "auth", version: SERVICE_VERSION }, LOG_LEVEL);
  ctx.waitUntil(
    runKeyMaintenance(env).then(
      (outcome) => {
        log.info("key maintenance", { cron: controller.cron, ...outcome });
        recordMetric(
          env,
          log,
          { service: "auth", version: SERVICE_VERSION },
          "signing_key_rotation_overdue_seconds",
          outcome.overdueSeconds,
        );
        return flushMetrics(env);
      },
      (error: unknown) =>
        log.error("key maintenance failed", {
          cron: controller.cron,
          error: error instanceof Error ? error.message : String(error),
        }),
    ),
  );
}
