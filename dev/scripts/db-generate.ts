/**
 * npm run db:generate -- <service> <name> [--custom]
 * Writes the next drizzle-kit migration of a service (from workers/<service>/src/db/schema.ts)
 * into migrations/<service>; with --custom, an empty migration for data or SQL drizzle cannot
 * express (seed rows, triggers).
 */
import { spawnSync } from "node:child_process";
import { dataServices } from "../services.ts";

const custom = process.argv.includes("--custom");
const [service, name] = process.argv.slice(2).filter((arg) => arg !== "--custom");
if (!service || !name || !dataServices.some((s) => s.name === service)) {
  console.error(`usage: npm run db:generate -- <${dataServices.map((s) => s.name).join("|")}> <migration_name>`);
  process.exit(2);
}
const result = spawnSync(
  "npx",
  [
    "drizzle-kit",
    "generate",
    "--dialect",
    "postgresql",
    "--schema",
    `workers/${service}/src/db/schema.ts`,
    "--out",
    `migrations/${service}`,
    "--name",
    name,
    ...(custom ? ["--custom"] : []),
  ],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
