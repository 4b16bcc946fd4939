import { readFile } from "node:fs/promises";
import postgres from "postgres";
import type { Migration } from "./verdict.ts";

const repositoryRoot = new URL("../../", import.meta.url);

/** A service's migrations in journal order (`migrations/<service>/meta/_journal.json`). */
export async function readMigrations(service: string, root: URL = repositoryRoot): Promise<Migration[]> {
  const folder = new URL(`migrations/${service}/`, root);
  const journal = JSON.parse(await readFile(new URL("meta/_journal.json", folder), "utf8")) as {
    entries: { tag: string; when: number }[];
  };
  return Promise.all(
    journal.entries.map(async ({ tag, when }) => ({
      tag,
      when,
      sql: await readFile(new URL(`${tag}.sql`, folder), "utf8"),
    })),
  );
}

/**
 * The newest migration a service's database has applied (drizzle's `created_at` is the
 * journal's `when`), 0 when it has none: what the migrator will apply is everything newer.
 */
export async function appliedUpTo(service: string, url: string): Promise<number> {
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  try {
    const table = `${service}_migrations`;
    const [exists] = await sql<{ present: boolean }[]>`
      select to_regclass(${`drizzle.${table}`}) is not null as present`;
    if (!exists?.present) return 0;
    const [row] = await sql<{ newest: string | null }[]>`
      select max(created_at)::text as newest from drizzle.${sql(table)}`;
    return row?.newest ? Number(row.newest) : 0;
  } finally {
    await sql.end();
  }
}
