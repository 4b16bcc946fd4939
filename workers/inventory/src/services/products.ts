import type { Principal } from "@edgebank/auth";
import type { CatalogueProduct } from "@edgebank/contracts";
import type { Database } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { restock } from "../domain/stock.ts";
import { findProduct, insertProduct, type ProductRow } from "../repo/products.ts";
import { merchantsOf } from "../service.ts";

/** A product as the catalogue shows it (the public routes and orders' contract alike). */
export function presentProduct(row: ProductRow): CatalogueProduct {
  return {
    sku: row.sku,
    name: row.name,
    price: row.price.toString(),
    currency: row.currency,
    merchantId: row.merchantId,
    available: row.onHand - row.reserved,
  };
}

/** Lists a product for one of the caller's merchants, priced in the merchant's currency. */
export async function createProduct(
  ctx: { db: Database; env: object; principal: Principal },
  input: { sku: string; name: string; price: string; merchantId: string; stock: number },
): Promise<ProductRow> {
  const merchant = (await merchantsOf(ctx.env, ctx.principal.subject)).find((m) => m.id === input.merchantId);
  if (!merchant) throw new AppError("not_found", `Merchant ${input.merchantId} does not exist.`);
  const row = await insertProduct(ctx.db, {
    sku: input.sku,
    name: input.name,
    price: BigInt(input.price),
    currency: merchant.currency,
    merchantId: merchant.id,
    ownerId: ctx.principal.subject,
    onHand: input.stock,
  });
  if (!row) throw new AppError("conflict", `SKU ${input.sku} is taken.`);
  return row;
}

/** Adds stock to one of the caller's products; someone else's product does not exist, as far as the caller can tell. */
export async function restockProduct(
  ctx: { db: Database; principal: Principal },
  sku: string,
  quantity: number,
): Promise<ProductRow> {
  const row = await findProduct(ctx.db, sku);
  if (!row || row.ownerId !== ctx.principal.subject) throw new AppError("not_found", "Product does not exist.");
  await restock(ctx.db, sku, quantity, ctx.principal.subject);
  return (await findProduct(ctx.db, sku)) ?? row;
}
