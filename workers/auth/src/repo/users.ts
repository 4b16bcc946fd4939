import type { Database } from "@edgebank/db";
import { eq } from "drizzle-orm";
import { users } from "../db/schema.ts";

/** What UserInfo tells about a user: email and role; undefined for an unknown id. */
export async function findUserProfile(db: Database, userId: string) {
  const [row] = await db.select({ email: users.email, role: users.role }).from(users).where(eq(users.id, userId));
  return row;
}
