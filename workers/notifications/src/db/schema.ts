import { pgSchema } from "drizzle-orm/pg-core";

/** Every table of the notifications service lives in this schema of the notifications database. */
export const notificationsSchema = pgSchema("notifications");
