import { pgSchema } from "drizzle-orm/pg-core";

/** Every table of the transfers service lives in this schema of the transfers database. */
export const transfersSchema = pgSchema("transfers");
