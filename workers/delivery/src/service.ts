import { bindingWith, defineConfig } from "@edgebank/config";
import type { LedgerService } from "@edgebank/contracts";
import { databaseSettings } from "@edgebank/db";
import { serviceOutboxRelay } from "@edgebank/outbox";
import { createServiceApp } from "@edgebank/service";
import { z } from "zod";

/** The delivery service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({
  name: "delivery",
  dbBinding: "DELIVERY_DB",
  dbSchema: "delivery",
  outbox: true,
});

/** The database settings of an env, for work done outside a request (rollouts, relays). */
export function serviceSettings(env: object) {
  const parsed = config(env);
  return databaseSettings(parsed, parsed.DB);
}

/**
 * What the controller needs beyond a service's settings: the Cloudflare API it moves traffic and
 * reads metrics with, the dataset the Workers write to, and how the environment names Workers.
 */
export const deliveryConfig = defineConfig(
  z.object({
    CLOUDFLARE_API_BASE_URL: z.url(),
    CLOUDFLARE_ACCOUNT_ID: z.string().regex(/^[0-9a-f]{32}$/),
    CLOUDFLARE_API_TOKEN: z.string().min(1),
    METRICS_DATASET: z.string().regex(/^[A-Za-z0-9_]+$/),
    WORKER_NAME_SUFFIX: z
      .string()
      .regex(/^(-[a-z0-9-]+)?$/)
      .default(""),
  }),
);

const bindings = defineConfig(
  z.object({
    ROLLOUT: bindingWith("idFromName", "get").transform((ns) => ns as unknown as Env["ROLLOUT"]),
    LEDGER: bindingWith("fetch").transform((binding) => binding as unknown as LedgerService),
  }),
);

/** The RolloutDO of a rollout (one object per rollout id). */
export function rolloutObject(env: object, id: string) {
  const namespace = bindings(env).ROLLOUT;
  return namespace.get(namespace.idFromName(id));
}

/** The ledger's internal contract, as delivery's binding reaches it (the money invariants). */
export const ledgerOf = (env: object) => bindings(env).LEDGER;

/** The Worker a service runs as in this environment (`edgebank-transfers`, `edgebank-transfers-staging`). */
export const workerOf = (env: object, service: string) =>
  `edgebank-${service}${deliveryConfig(env).WORKER_NAME_SUFFIX}`;

/** Publishes the delivery outbox to Kafka: right after each change, and from the cron sweeper. */
export const relayDeliveryEvents = serviceOutboxRelay({
  service: "delivery",
  schema: "delivery",
  vars: config,
  settings: serviceSettings,
});
