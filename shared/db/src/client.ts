import { neonConfig, Pool } from "@neondatabase/serverless";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import { drizzle as drizzleNeon } from "drizzle-orm/neon-serverless";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import type { DatabaseSettings } from "./settings.ts";
import { openWorkersSocket } from "./socket.ts";
import { traceStatements } from "./tracing.ts";

/** A drizzle database, whichever driver is underneath. Repositories take this, never a driver type. */
export type Database = PgDatabase<PgQueryResultHKT, Record<string, never>>;
/** The transaction handle drizzle passes to a transaction callback. */
export type Transaction = PgTransaction<
  PgQueryResultHKT,
  Record<string, never>,
  ExtractTablesWithRelations<Record<string, never>>
>;

/** An open client and the way to close it. */
export interface DatabaseHandle {
  db: Database;
  /** Closes every connection of this client; safe to call more than once. */
  close(): Promise<void>;
}

/** Connections one request may open: enough for a few concurrent queries, few enough to share. */
const MAX_CONNECTIONS_PER_CLIENT = 5;

function configureNeonProxy(proxy: string): void {
  // Local development only: the relay in dev/ forwards each WebSocket to the TCP address it names.
  neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.pipelineTLS = false;
}

/**
 * Opens a drizzle client with the configured driver:
 * - `hyperdrive`: postgres.js on the Hyperdrive binding's connection string (production
 *   default; locally wrangler points the binding at PostgreSQL);
 * - `neon`: a `@neondatabase/serverless` Pool over WebSocket.
 *
 * In a stateless Worker a client lives for one request (sockets cannot cross requests), so
 * open one per request and close it with `ctx.waitUntil(handle.close())`.
 */
export function openDatabase(settings: DatabaseSettings): DatabaseHandle {
  let closed: Promise<void> | undefined;
  if (settings.driver === "neon") {
    if (settings.neonWsProxy) configureNeonProxy(settings.neonWsProxy);
    const pool = new Pool({ connectionString: settings.connectionString, max: MAX_CONNECTIONS_PER_CLIENT });
    pool.on("error", () => {}); // an idle client's socket closing is not a request failure
    const db = drizzleNeon({ client: pool }) as unknown as Database;
    return { db, close: () => (closed ??= pool.end()) };
  }
  const sql = postgres(settings.connectionString, {
    max: MAX_CONNECTIONS_PER_CLIENT,
    fetch_types: false, // no extra round trip per connection; custom types are not used
    prepare: settings.prepare,
    connect_timeout: 5,
    onnotice: () => {},
    ...(wantsTls(settings.connectionString)
      ? {}
      : {
          socket: ({ host, port }: { host: string[]; port: number[] }) =>
            openWorkersSocket(host[0] ?? "localhost", port[0] ?? 5432),
        }),
  });
  const db = drizzlePostgres({ client: traceStatements(sql) }) as unknown as Database;
  return { db, close: () => (closed ??= sql.end({ timeout: 5 })) };
}

/**
 * The rows of a raw `db.execute(sql...)` result: postgres.js returns an array, the Neon
 * driver a `{ rows }` object. Query-builder calls need none of this.
 */
export function resultRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  const rows = (result as { rows?: unknown }).rows;
  return Array.isArray(rows) ? (rows as T[]) : [];
}

/** Whether the connection string asks for TLS; those connections keep postgres.js's own socket. */
function wantsTls(connectionString: string): boolean {
  const mode = new URL(connectionString).searchParams.get("sslmode");
  return mode !== null && mode !== "disable";
}

/**
 * Runs `work` with a client of its own and closes it afterwards, whatever happens: for work
 * outside a request's middleware (cron handlers, key fetches, tests).
 */
export async function withDatabase<T>(settings: DatabaseSettings, work: (db: Database) => Promise<T>): Promise<T> {
  const { db, close } = openDatabase(settings);
  try {
    return await work(db);
  } finally {
    await close();
  }
}

export interface TransactionOptions {
  isolationLevel?: "read committed" | "repeatable read" | "serializable";
}

/**
 * Runs `work` in one database transaction: committed when it resolves, rolled back when it
 * throws (the error is rethrown). Services put every write of one use case in one call.
 */
export function withTransaction<T>(
  db: Database,
  work: (tx: Transaction) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  return db.transaction(work, options.isolationLevel ? { isolationLevel: options.isolationLevel } : undefined);
}
