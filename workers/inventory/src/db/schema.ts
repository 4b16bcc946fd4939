import { pgSchema } from "drizzle-orm/pg-core";

/** Every table of the inventory service lives in this schema of the inventory database. */
export const inventorySchema = pgSchema("inventory");
