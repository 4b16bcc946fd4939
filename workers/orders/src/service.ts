import { bindingWith, defineConfig } from "@edgebank/config";
import type { CatalogueProduct, InventoryService } from "@edgebank/contracts";
import { databaseSettings } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { createServiceApp } from "@edgebank/service";
import { callRpc, traceOf } from "@edgebank/service/rpc";
import { z } from "zod";

/** The orders service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({
  name: "orders",
  dbBinding: "ORDERS_DB",
  dbSchema: "orders",
  outbox: true,
});

/** The database settings of an env, for work done outside a request (relays, consumers). */
export function serviceSettings(env: object) {
  const parsed = config(env);
  return databaseSettings(parsed, parsed.DB);
}

const bindings = defineConfig(
  z.object({
    INVENTORY: bindingWith("fetch").transform((binding) => binding as unknown as InventoryService),
  }),
);

export type { CatalogueProduct };

/** A product as the catalogue offers it, over inventory's internal contract; undefined when there is none. */
export async function catalogueProduct(env: object, sku: string): Promise<CatalogueProduct | undefined> {
  const result = await callRpc("inventory", "product", (traceparent) =>
    bindings(env).INVENTORY.product({ sku, ...traceOf(traceparent) }),
  );
  if (result.status === "found") return result.product;
  if (result.status === "not_found" || result.status === "invalid") return undefined;
  throw new AppError("internal", `The inventory service refused the call: ${result.detail}`);
}
