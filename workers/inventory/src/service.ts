import { bindingWith, defineConfig } from "@edgebank/config";
import { databaseSettings } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { createServiceApp } from "@edgebank/service";
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
  z.object({ PAYMENTS: bindingWith("fetch").transform((binding) => binding as unknown as Fetcher) }),
);

/**
 * The caller's merchants, asked of the payments service (which owns merchants) on the caller's
 * behalf, with the caller's own token: a product may only be listed for one of them.
 */
export async function callerMerchants(env: object, token: string): Promise<Array<{ id: string; currency: string }>> {
  let response: Response;
  try {
    response = await bindings(env).PAYMENTS.fetch("https://payments.internal/v1/merchants", {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5_000),
    });
  } catch (error) {
    throw new AppError("dependency_unavailable", "The payments service is unavailable; retry later.", { cause: error });
  }
  if (response.status === 403) return [];
  if (!response.ok) {
    throw new AppError("dependency_unavailable", "The payments service is unavailable; retry later.", {
      cause: new Error(`GET /v1/merchants: ${response.status}`),
    });
  }
  return ((await response.json()) as { items: Array<{ id: string; currency: string }> }).items;
}
