import type { Database } from "@edgebank/db";
import { desc } from "drizzle-orm";
import { signingKeys } from "../db/schema.ts";

/** The signing keys newest first, with their states and dates, never their key material. */
export async function listSigningKeys(db: Database, limit = 50) {
  return db
    .select({
      kid: signingKeys.kid,
      status: signingKeys.status,
      createdAt: signingKeys.createdAt,
      activatedAt: signingKeys.activatedAt,
      retireAfter: signingKeys.retireAfter,
      retiredAt: signingKeys.retiredAt,
    })
    .from(signingKeys)
    .orderBy(desc(signingKeys.createdAt))
    .limit(limit);
}
