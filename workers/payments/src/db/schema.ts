import { pgSchema } from "drizzle-orm/pg-core";

/** Every table of the payments service lives in this schema of the payments database. */
export const paymentsSchema = pgSchema("payments");
