/**
 * npm run db:migrate
 * Creates the service databases when missing and applies every service's migrations,
 * idempotently. Against DATABASE_URL (a PostgreSQL server) when set, else against the
 * embedded database `npm run dev` uses (.dev/pglite).
 */
import { fileURLToPath } from "node:url";
import { prepareDatabases } from "../postgres/databases.ts";
import { startEmbeddedPostgres } from "../postgres/embedded.ts";
import { migrateAll } from "../postgres/migrate.ts";

const serverUrl = process.env.DATABASE_URL;
const embedded = serverUrl
  ? undefined
  : await startEmbeddedPostgres({ dataDir: fileURLToPath(new URL("../../.dev/pglite", import.meta.url)) });
try {
  const layout = await prepareDatabases(serverUrl ?? embedded?.url ?? "", { prefix: "edgebank", embedded: !serverUrl });
  await migrateAll(layout.urls, (line) => console.log(line));
  console.log(serverUrl ? "all migrations applied" : "all migrations applied to the embedded database (.dev/pglite)");
} finally {
  await embedded?.stop();
}
