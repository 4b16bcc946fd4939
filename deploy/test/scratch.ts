import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../dev/postgres/embedded.ts";
import { dataServices } from "../../dev/services.ts";

/**
 * A database per service that a deploy test may migrate and throw away: new databases on the
 * server in DATABASE_URL, or an embedded PostgreSQL of its own (every service in it, as `npm run
 * dev` lays them out) when there is none.
 */
export interface ScratchDatabases {
  urls: Record<string, string>;
  drop(): Promise<void>;
}

export async function scratchDatabases(): Promise<ScratchDatabases> {
  const server = process.env.DATABASE_URL;
  if (!server) {
    const embedded: EmbeddedPostgres = await startEmbeddedPostgres();
    return {
      urls: Object.fromEntries(dataServices.map((service) => [service.name, embedded.url])),
      drop: () => embedded.stop(),
    };
  }
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  const prefix = `edgebank_deploy_${randomBytes(4).toString("hex")}`;
  const urls: Record<string, string> = {};
  try {
    for (const service of dataServices) {
      const name = `${prefix}_${service.name}`;
      await admin.unsafe(`create database "${name}"`);
      const url = new URL(server);
      url.pathname = `/${name}`;
      urls[service.name] = url.toString();
    }
  } finally {
    await admin.end();
  }
  return {
    urls,
    drop: async () => {
      const sql = postgres(server, { max: 1, onnotice: () => {} });
      try {
        for (const service of dataServices)
          await sql.unsafe(`drop database if exists "${prefix}_${service.name}" with (force)`);
      } finally {
        await sql.end();
      }
    },
  };
}
