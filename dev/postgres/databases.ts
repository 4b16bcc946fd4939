import postgres from "postgres";
import { dataServices } from "../services.ts";

/** Where each service's database is, and how clients must talk to it. */
export interface DatabaseLayout {
  /** postgres:// URL per service name. */
  urls: Record<string, string>;
  /** postgres:// URL of the server's own database, for platform tests that own no service. */
  serverUrl: string;
  /** False for PGlite (shared session) and for poolers in transaction mode. */
  prepare: boolean;
  embedded: boolean;
}

/**
 * The server URL as workers need it locally: with a password (Hyperdrive's local mode requires
 * one; trust auth ignores it) and `sslmode=disable` (a local server speaks no TLS).
 */
function localServerUrl(url: URL): URL {
  const copy = new URL(url);
  if (!copy.password) copy.password = "postgres";
  if (!copy.username) copy.username = "postgres";
  if (!copy.searchParams.has("sslmode")) copy.searchParams.set("sslmode", "disable");
  return copy;
}

/**
 * Every service gets its own database `<prefix>_<service>` on the server behind `serverUrl`
 * (created when missing; dropped first with `recreate`, for throwaway stacks). On the embedded server every service shares the one database and
 * is kept apart by its schema.
 */
export async function prepareDatabases(
  serverUrl: string,
  options: { prefix: string; embedded: boolean; recreate?: boolean },
): Promise<DatabaseLayout> {
  const server = localServerUrl(new URL(serverUrl));
  if (options.embedded) {
    const urls = Object.fromEntries(dataServices.map((s) => [s.name, server.toString()]));
    return { urls, serverUrl: server.toString(), prepare: false, embedded: true };
  }
  const admin = postgres(server.toString(), { max: 1, onnotice: () => {} });
  try {
    const urls: Record<string, string> = {};
    for (const service of dataServices) {
      const name = `${options.prefix}_${service.name}`;
      if (options.recreate) await admin.unsafe(`drop database if exists "${name}" with (force)`);
      const [existing] = await admin`select 1 from pg_database where datname = ${name}`;
      if (!existing) await admin.unsafe(`create database "${name}"`);
      const url = new URL(server);
      url.pathname = `/${name}`;
      urls[service.name] = url.toString();
    }
    return { urls, serverUrl: server.toString(), prepare: true, embedded: false };
  } finally {
    await admin.end();
  }
}
