import type { Database } from "@edgebank/db";
import { desc, eq } from "drizzle-orm";
import { merchants } from "../db/schema.ts";

export type MerchantRow = typeof merchants.$inferSelect;
export type NewMerchant = typeof merchants.$inferInsert;

export async function findMerchant(db: Database, id: string): Promise<MerchantRow | undefined> {
  const [row] = await db.select().from(merchants).where(eq(merchants.id, id));
  return row;
}

/** An owner's merchants, newest first. */
export function listOwnedMerchants(db: Database, ownerId: string): Promise<MerchantRow[]> {
  return db.select().from(merchants).where(eq(merchants.ownerId, ownerId)).orderBy(desc(merchants.id));
}

/** Inserts a merchant; undefined when its account already receives another merchant's payments. */
export async function insertMerchant(db: Database, merchant: NewMerchant): Promise<MerchantRow | undefined> {
  const [row] = await db.insert(merchants).values(merchant).onConflictDoNothing().returning();
  return row;
}
