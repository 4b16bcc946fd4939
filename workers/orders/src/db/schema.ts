import { pgSchema } from "drizzle-orm/pg-core";

/** Every table of the orders service lives in this schema of the orders database. */
export const ordersSchema = pgSchema("orders");
