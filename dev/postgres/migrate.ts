import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { dataServices } from "../services.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Applies one service's drizzle-kit migrations from `migrations/<service>` (under `migrationsRoot`,
 * the repository by default) to the database at `url`.
 */
export async function migrateService(service: string, url: string, migrationsRoot = root): Promise<void> {
  const client = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  try {
    await migrate(drizzle({ client }), {
      migrationsFolder: `${migrationsRoot}migrations/${service}`,
      migrationsSchema: "drizzle",
      migrationsTable: `${service}_migrations`,
    });
  } finally {
    await client.end();
  }
}

/**
 * Applies every service's migrations to its database. Idempotent: applied migrations are
 * recorded per service in `drizzle.<service>_migrations`, so services sharing one database
 * (embedded mode) never see each other's history.
 */
export async function migrateAll(urls: Record<string, string>, log: (line: string) => void = () => {}): Promise<void> {
  for (const service of dataServices) {
    const url = urls[service.name];
    if (!url) throw new Error(`no database URL for ${service.name}`);
    await migrateService(service.name, url);
    log(`migrated ${service.name}`);
  }
}
