import { type Database, databaseError } from "@edgebank/db";
import { and, asc, eq, gt } from "drizzle-orm";
import { products } from "../db/schema.ts";

export type ProductRow = typeof products.$inferSelect;
export type NewProduct = typeof products.$inferInsert;

/** One page of the catalogue in SKU order, optionally one merchant's; one row more than `limit` says there is a next page. */
export function listProducts(db: Database, page: { merchantId?: string; cursor?: string; limit: number }) {
  return db
    .select()
    .from(products)
    .where(
      and(
        page.merchantId ? eq(products.merchantId, page.merchantId) : undefined,
        page.cursor ? gt(products.sku, page.cursor) : undefined,
      ),
    )
    .orderBy(asc(products.sku))
    .limit(page.limit + 1);
}

export async function findProduct(db: Database, sku: string): Promise<ProductRow | undefined> {
  const [row] = await db.select().from(products).where(eq(products.sku, sku));
  return row;
}

/** Inserts a product; undefined when its SKU is taken. */
export async function insertProduct(db: Database, product: NewProduct): Promise<ProductRow | undefined> {
  try {
    const [row] = await db.insert(products).values(product).returning();
    if (!row) throw new Error("product insert returned nothing");
    return row;
  } catch (error) {
    if (databaseError(error)?.code === "23505") return undefined;
    throw error;
  }
}
