import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PgBouncer, startPgBouncer } from "../pgbouncer.ts";

/**
 * PgBouncer in front of the PostgreSQL server, as the stack runs it: a restart (a fault the
 * chaos run injects) drops every connection and serves new ones on the same address.
 */
const upstream = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
let pooler: PgBouncer;
beforeAll(async () => {
  pooler = await startPgBouncer({ upstream, poolSize: 2 });
});
afterAll(() => pooler.stop());

describe("PgBouncer", () => {
  it("pools in transaction mode, and after a restart drops old connections and takes new ones on its port", async () => {
    const sql = postgres(pooler.url(upstream), { max: 1, prepare: false, onnotice: () => {} });
    try {
      expect((await sql`select 1 as one`)[0]?.one).toBe(1);
      await pooler.restart();
      // The connection held across the restart is gone: the first query on it fails or is
      // made on a new connection; either way the pooler answers on the same URL again.
      await sql`select 1`.catch(() => undefined);
      expect((await sql`select 2 as two`)[0]?.two).toBe(2);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
