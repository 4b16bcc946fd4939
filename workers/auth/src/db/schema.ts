import { pgSchema } from "drizzle-orm/pg-core";

/** Every table of the auth service lives in this schema of the auth database. */
export const authSchema = pgSchema("auth");
