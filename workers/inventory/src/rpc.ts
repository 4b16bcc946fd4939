import { WorkerEntrypoint } from "cloudflare:workers";
import { type InventoryService, inventoryContract, type ProductInput, type ProductResult } from "@edgebank/contracts";
import { withDatabase } from "@edgebank/db";
import { rpcServer } from "@edgebank/http";
import { findProduct } from "./repo/products.ts";
import { serviceSettings } from "./service.ts";
import { presentProduct } from "./services/products.ts";

const serve = rpcServer("inventory", "InventoryRpc", inventoryContract);

/**
 * The inventory service's internal contract (`inventoryContract` in @edgebank/contracts) as
 * Workers RPC: orders binds to this entrypoint with `props.caller` naming itself.
 */
export class InventoryRpc extends WorkerEntrypoint<Env> implements InventoryService {
  /** A product of the catalogue by SKU, priced in its merchant's currency. */
  product(input: ProductInput): Promise<ProductResult> {
    return serve(this.env, this.ctx, "product", input, async ({ sku }) => {
      const row = await withDatabase(serviceSettings(this.env), (db) => findProduct(db, sku));
      if (!row) return { status: "not_found" as const };
      return { status: "found" as const, product: presentProduct(row) };
    });
  }
}
