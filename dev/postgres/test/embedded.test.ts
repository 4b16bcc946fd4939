import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../embedded.ts";

/**
 * The embedded PostgreSQL of local development serves many connections on one PGlite session:
 * they must not see each other's statements, or each other's transactions.
 */
let pg: EmbeddedPostgres;
beforeAll(async () => {
  pg = await startEmbeddedPostgres();
});
afterAll(() => pg.stop());

const connect = () => postgres(pg.url, { max: 1, prepare: false, onnotice: () => {} });

describe("the embedded PostgreSQL", () => {
  it("keeps concurrent connections' parameterized queries and transactions apart", async () => {
    const clients = Array.from({ length: 8 }, connect);
    const [first] = clients;
    if (!first) throw new Error("no client");
    try {
      await first`create table concurrency (id int primary key, v text)`;
      const wrong: string[] = [];
      await Promise.all(
        clients.map(async (sql, i) => {
          for (let n = 0; n < 60; n++) {
            const id = i * 1_000 + n;
            if (n % 3 === 0) {
              await sql.begin(async (tx) => {
                await tx`insert into concurrency values (${id}, ${`v${id}`})`;
                const [row] = await tx`select v from concurrency where id = ${id}`;
                if (row?.v !== `v${id}`) wrong.push(`tx ${id}: ${row?.v}`);
              });
            } else {
              const [row] = await sql`select ${id}::int as x, ${`s${id}`}::text as s`;
              if (row?.x !== id || row?.s !== `s${id}`) wrong.push(`query ${id}: ${JSON.stringify(row)}`);
            }
          }
        }),
      );
      expect(wrong).toEqual([]);
      const [count] = await first`select count(*)::int as n from concurrency`;
      expect(count?.n).toBe(8 * 20);
    } finally {
      await Promise.all(clients.map((sql) => sql.end()));
    }
  });

  it("rolls back only the connection's own transaction", async () => {
    const [a, b] = [connect(), connect()];
    try {
      await a`create table isolation (id int primary key)`;
      const rolledBack = a
        .begin(async (tx) => {
          await tx`insert into isolation values (1)`;
          await new Promise((resolve) => setTimeout(resolve, 50));
          throw new Error("undo");
        })
        .catch((error: unknown) => error);
      // b waits for a's transaction, then commits its own row.
      await b`insert into isolation values (2)`;
      expect(await rolledBack).toBeInstanceOf(Error);
      expect((await b`select id from isolation order by id`).map((r) => r.id)).toEqual([2]);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });
});
