import { sql } from "drizzle-orm";
import { type Database, resultRows } from "./client.ts";

/**
 * Readiness of a service database: it answers, and the service's schema exists (its
 * migrations were applied). Throws when either is not the case.
 */
export async function checkDatabase(db: Database, schema: string): Promise<void> {
  const result = await db.execute(sql`select 1 as ok from information_schema.schemata where schema_name = ${schema}`);
  if (resultRows(result).length === 0) {
    throw new Error(`schema ${schema} does not exist: run npm run db:migrate`);
  }
}
