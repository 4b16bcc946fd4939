import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { dataServices } from "../services.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Applies every service's drizzle-kit migrations from `migrations/<service>` to its database.
 * Idempotent: applied migrations are recorded per service in `drizzle.<service>_migrations`,
 * so services sharing one database (embedded mode) never see each other's history.
 */
export async function migrateAll(urls: Record<string, string>, log: (line: string) => void = () => {}): Promise<void> {
  for (const service of dataServices) {
    const url = urls[service.name];
    if (!url) throw new Error(`no database URL for ${service.name}`);
    const client = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
    try {
      await migrate(drizzle({ client }), {
        migrationsFolder: `${root}migrations/${service.name}`,
        migrationsSchema: "drizzle",
        migrationsTable: `${service.name}_migrations`,
      });
      log(`migrated ${service.name}`);
    } finally {
      await client.end();
    }
  }
}
