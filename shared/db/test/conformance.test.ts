import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { bigint, integer, jsonb, pgSchema, text, timestamp } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Database,
  type DatabaseSettings,
  type DbDriver,
  isDatabaseUnavailable,
  openDatabase,
  resultRows,
  withTransaction,
} from "../src/index.ts";

const schema = pgSchema("db_conformance");
const items = schema.table("items", {
  id: text("id").primaryKey(),
  amount: bigint("amount", { mode: "bigint" }).notNull(),
  attributes: jsonb("attributes").$type<Record<string, unknown>>().notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});
const counters = schema.table("counters", {
  id: text("id").primaryKey(),
  value: integer("value").notNull(),
});

function settingsFor(driver: DbDriver): DatabaseSettings {
  const prepare = env.DB_PREPARE === "true";
  return driver === "neon"
    ? { driver, connectionString: env.DATABASE_URL, prepare, neonWsProxy: env.NEON_WS_PROXY }
    : { driver, connectionString: env.CONFORMANCE_DB.connectionString, prepare };
}

/** Runs `work` with a fresh client of `driver`, closed afterwards whatever happens. */
async function withClient<T>(driver: DbDriver, work: (db: Database) => Promise<T>): Promise<T> {
  const { db, close } = openDatabase(settingsFor(driver));
  try {
    return await work(db);
  } finally {
    await close();
  }
}

beforeAll(async () => {
  await withClient("hyperdrive", async (db) => {
    await db.execute(sql`create schema if not exists db_conformance`);
    await db.execute(sql`create table if not exists db_conformance.items (
      id text primary key, amount bigint not null, attributes jsonb not null,
      created_at timestamptz not null default now())`);
    await db.execute(
      sql`create table if not exists db_conformance.counters (id text primary key, value integer not null)`,
    );
  });
});

afterAll(async () => {
  await withClient("hyperdrive", (db) => db.execute(sql`drop schema if exists db_conformance cascade`));
});

describe.each(["hyperdrive", "neon"] as const)("driver conformance: %s", (driver) => {
  const key = (name: string) => `${driver}-${name}-${crypto.randomUUID()}`;

  it("runs raw SQL with parameters", async () => {
    const rows = await withClient(driver, async (db) =>
      resultRows<{ sum: number; echoed: string }>(
        await db.execute(sql`select ${20}::int + ${22}::int as sum, ${"it's"}::text as echoed`),
      ),
    );
    expect(rows).toEqual([{ sum: 42, echoed: "it's" }]);
  });

  it("round-trips bigint minor units exactly, jsonb as an object and timestamps", async () => {
    await withClient(driver, async (db) => {
      const id = key("item");
      const max = 9_223_372_036_854_775_807n;
      const [inserted] = await db
        .insert(items)
        .values({ id, amount: max, attributes: { note: "x", n: 1 } })
        .returning();
      expect(inserted?.amount).toBe(max);
      const [read] = await db.select().from(items).where(eq(items.id, id));
      expect(read?.amount).toBe(max);
      expect(read?.attributes).toEqual({ note: "x", n: 1 });
      expect(read?.createdAt).toBeInstanceOf(Date);
      const [kind] = resultRows<{ kind: string }>(
        await db.execute(sql`select jsonb_typeof(attributes) as kind from db_conformance.items where id = ${id}`),
      );
      expect(kind?.kind).toBe("object");
    });
  });

  it("rolls an interactive transaction back when its work throws", async () => {
    await withClient(driver, async (db) => {
      const id = key("rollback");
      const failure = await withTransaction(db, async (tx) => {
        await tx.insert(items).values({ id, amount: 1n, attributes: {} });
        throw new Error("business rule failed");
      }).then(
        () => null,
        (error: unknown) => error,
      );
      expect((failure as Error).message).toBe("business rule failed");
      expect(await db.select().from(items).where(eq(items.id, id))).toEqual([]);
    });
  });

  // Against a PostgreSQL server this fails without the row lock (a lost update). The embedded
  // PGlite runs one transaction at a time, so there it passes either way; CI runs it on a server.
  it("serializes concurrent read-modify-write with SELECT ... FOR UPDATE", async () => {
    const id = key("counter");
    await withClient(driver, (db) => db.insert(counters).values({ id, value: 0 }));
    // Each writer has its own client, as two requests would.
    const increment = () =>
      withClient(driver, (db) =>
        withTransaction(db, async (tx) => {
          const [row] = await tx.select().from(counters).where(eq(counters.id, id)).for("update");
          await tx.execute(sql`select pg_sleep(0.02)`); // widen the window a lost update needs
          await tx
            .update(counters)
            .set({ value: (row?.value ?? 0) + 1 })
            .where(eq(counters.id, id));
        }),
      );
    await Promise.all(Array.from({ length: 5 }, increment));
    const [row] = await withClient(driver, (db) => db.select().from(counters).where(eq(counters.id, id)));
    expect(row?.value).toBe(5);
  });

  // A consumer holds an event that met an unavailable database without counting it toward the
  // dead letters; an event whose statement is wrong is counted. The driver's own errors decide.
  it("tells a database that cannot be reached from a statement that is wrong", async () => {
    const wrong = await withClient(driver, (db) => db.execute(sql`select * from db_conformance.nowhere`)).catch(
      (error: unknown) => error,
    );
    expect(wrong).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(wrong)).toBe(false);
    const { db, close } = openDatabase({
      ...settingsFor(driver),
      connectionString: "postgres://postgres@127.0.0.1:9/postgres",
    });
    const unreachable = await db.execute(sql`select 1`).catch((error: unknown) => error);
    await close();
    expect(unreachable).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(unreachable)).toBe(true);
  });

  it("closes idempotently", async () => {
    const { db, close } = openDatabase(settingsFor(driver));
    await db.execute(sql`select 1`);
    await Promise.all([close(), close()]);
  });
});
