import { booleanVar, defineConfig } from "@edgebank/config";
import { databaseSettings } from "@edgebank/db";
import { createServiceApp } from "@edgebank/service";
import { z } from "zod";

/** The notifications service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({
  name: "notifications",
  dbBinding: "NOTIFICATIONS_DB",
  dbSchema: "notifications",
});

/** The database settings of an env, for work done outside a request (consumers, deliveries). */
export function serviceSettings(env: object) {
  const parsed = config(env);
  return databaseSettings(parsed, parsed.DB);
}

const seconds = z
  .string()
  .regex(/^\d+(,\d+)*$/, "comma-separated whole seconds")
  .transform((text) => text.split(",").map(Number));

/** How webhooks are delivered (how events are consumed: `consumerConfig` of @edgebank/consumer). */
export const notificationSettings = defineConfig(
  z.object({
    /** Pauses after each failed delivery attempt; when they run out the delivery has failed. */
    WEBHOOK_RETRY_SECONDS: seconds.default([10, 60, 300, 1_800, 7_200, 21_600]),
    /** Consecutive failed attempts (over all its deliveries) after which an endpoint is disabled. */
    WEBHOOK_DISABLE_AFTER: z.coerce.number().int().min(1).default(20),
    /** Per attempt, in ms. */
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5_000),
    /** Endpoints may use http:// and private addresses (development and tests only). */
    WEBHOOK_ALLOW_INSECURE: booleanVar.default(false),
    /** 32 bytes, base64url: seals the endpoints' signing secrets at rest. */
    WEBHOOK_SECRET_KEY: z.string().min(43),
  }),
);
