import { bindingWith, defineConfig } from "@edgebank/config";
import type { MerchantSummary, PaymentsService } from "@edgebank/contracts";
import { databaseSettings } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { createServiceApp } from "@edgebank/service";
import { callRpc, traceOf } from "@edgebank/service/rpc";
import { z } from "zod";

/** The inventory service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({
  name: "inventory",
  dbBinding: "INVENTORY_DB",
  dbSchema: "inventory",
});

/** The database settings of an env, for work done outside a request (the cron). */
export function serviceSettings(env: object) {
  const parsed = config(env);
  return databaseSettings(parsed, parsed.DB);
}

const bindings = defineConfig(
  z.object({
    PAYMENTS: bindingWith("fetch").transform((binding) => binding as unknown as PaymentsService),
  }),
);

/**
 * The merchants a user runs, asked of the payments service (which owns merchants) over its
 * internal contract: a product may only be listed for one of them.
 */
export async function merchantsOf(env: object, ownerId: string): Promise<MerchantSummary[]> {
  const result = await callRpc("payments", "merchantsOf", (traceparent) =>
    bindings(env).PAYMENTS.merchantsOf({ ownerId, ...traceOf(traceparent) }),
  );
  if (result.status === "found") return result.merchants;
  throw new AppError("internal", `The payments service refused the call: ${result.detail}`);
}
