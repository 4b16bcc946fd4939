import { bindingWith, booleanVar } from "@edgebank/config";
import { z } from "zod";

/** Which driver a worker talks to PostgreSQL with. */
export const dbDrivers = ["hyperdrive", "neon"] as const;
export type DbDriver = (typeof dbDrivers)[number];

/** What the db package needs to open a client. */
export interface DatabaseSettings {
  driver: DbDriver;
  connectionString: string;
  /** Named prepared statements (postgres.js). Off for poolers in transaction mode and for PGlite. */
  prepare: boolean;
  /** Development only: `host:port/path` of a WebSocket-to-TCP relay for the Neon driver. */
  neonWsProxy?: string;
}

/**
 * The vars of the database connection every worker with a database has, beside its Hyperdrive
 * binding. `DB_DRIVER=neon` uses `@neondatabase/serverless` over WebSocket with `DATABASE_URL`
 * (a secret in production) instead of Hyperdrive.
 */
export const databaseVars = z.object({
  DB_DRIVER: z.enum(dbDrivers).default("hyperdrive"),
  DB_PREPARE: booleanVar.default(true),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  NEON_WS_PROXY: z.string().min(1).optional(),
});

/** Schema of a Hyperdrive binding (only its connection string is used). */
export const hyperdriveBinding = bindingWith("connectionString");

/**
 * Picks the connection settings from a worker's parsed config. A `neon` driver without
 * `DATABASE_URL` is a configuration error, reported by name.
 */
export function databaseSettings(
  vars: z.output<typeof databaseVars>,
  hyperdrive: { connectionString: unknown },
): DatabaseSettings {
  const common = { prepare: vars.DB_PREPARE, ...(vars.NEON_WS_PROXY ? { neonWsProxy: vars.NEON_WS_PROXY } : {}) };
  if (vars.DB_DRIVER === "neon") {
    if (!vars.DATABASE_URL) throw new Error("DB_DRIVER=neon needs DATABASE_URL");
    return { driver: "neon", connectionString: vars.DATABASE_URL, ...common };
  }
  return { driver: "hyperdrive", connectionString: String(hyperdrive.connectionString), ...common };
}
