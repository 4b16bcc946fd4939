import { pgSchema } from "drizzle-orm/pg-core";

/** Every table of the accounts service lives in this schema of the accounts database. */
export const accountsSchema = pgSchema("accounts");
