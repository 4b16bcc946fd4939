import { pgSchema } from "drizzle-orm/pg-core";

/** Every table of the ledger service lives in this schema of the ledger database. */
export const ledgerSchema = pgSchema("ledger");
