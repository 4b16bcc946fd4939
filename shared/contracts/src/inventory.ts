import { z } from "zod";
import type { ContractRefusal, RpcMethod } from "./rpc.ts";

/**
 * The inventory service's internal contract: orders price an order's lines from the catalogue,
 * so it asks for a product by SKU.
 */

/** A product's SKU, as the catalogue's routes and orders' contract both take it. */
export const sku = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9._-]{0,63}$/, "upper-case letters, digits, '.', '_' or '-', at most 64");

/** A product as the catalogue offers it: its price (minor units) in its merchant's currency. */
export interface CatalogueProduct {
  sku: string;
  name: string;
  price: string;
  currency: string;
  merchantId: string;
  /** What can be ordered now: on hand minus reserved. */
  available: number;
}

export type ProductResult = { status: "found"; product: CatalogueProduct } | { status: "not_found" } | ContractRefusal;

export const inventoryContract = {
  product: {
    input: z.object({ sku, traceparent: z.string().max(128).optional() }),
    callers: ["orders"],
  },
} as const satisfies Record<string, RpcMethod<z.ZodType>>;

export type ProductInput = z.input<typeof inventoryContract.product.input>;

/** The inventory entrypoint (`InventoryRpc`) as a caller's binding sees it. */
export interface InventoryService {
  product(input: ProductInput): Promise<ProductResult>;
}
