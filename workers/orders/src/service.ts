import { bindingWith, defineConfig } from "@edgebank/config";
import { databaseSettings } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { createServiceApp } from "@edgebank/service";
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
  z.object({ INVENTORY: bindingWith("fetch").transform((binding) => binding as unknown as Fetcher) }),
);

export interface CatalogueProduct {
  sku: string;
  price: string;
  currency: string;
  merchantId: string;
}

/** A product as the public catalogue shows it; undefined when there is none. */
export async function catalogueProduct(env: object, sku: string): Promise<CatalogueProduct | undefined> {
  let response: Response;
  try {
    response = await bindings(env).INVENTORY.fetch(
      `https://inventory.internal/v1/products/${encodeURIComponent(sku)}`,
      {
        signal: AbortSignal.timeout(5_000),
      },
    );
  } catch (error) {
    throw new AppError("dependency_unavailable", "The inventory service is unavailable; retry later.", {
      cause: error,
    });
  }
  if (response.status === 404 || response.status === 400) return undefined;
  if (!response.ok) {
    throw new AppError("dependency_unavailable", "The inventory service is unavailable; retry later.", {
      cause: new Error(`GET /v1/products/${sku}: ${response.status}`),
    });
  }
  return (await response.json()) as CatalogueProduct;
}
