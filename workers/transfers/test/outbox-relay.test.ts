import { env, exports } from "cloudflare:workers";
import { type Database, resultRows, withDatabase } from "@edgebank/db";
import { type CloudEvent, parseEvent } from "@edgebank/events";
import type { Logger } from "@edgebank/http";
import { newId, newUuidV7 } from "@edgebank/ids";
import { KafkaRestClient } from "@edgebank/kafka";
import { drainOutbox, kafkaPublisher, outboxBacklog, type Publisher, relayOutbox } from "@edgebank/outbox";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";

/**
 * The shared outbox relay, on the transfers service's outbox in its real database. Rows of
 * other tests may be pending too: every assertion looks at this test's own aggregates.
 */
const settings = () => ({
  driver: "hyperdrive" as const,
  connectionString: env.TRANSFERS_DB.connectionString,
  prepare: env.DB_PREPARE === "true",
});

function payload(transferId: string, status = "COMPLETED") {
  return { transferId, fromAccountId: "acc_a", toAccountId: "acc_b", amount: "100", currency: "EUR", status };
}

/** Writes `count` events for a new aggregate, in order; their ids. */
async function pending(
  db: Database,
  count: number,
  type = "TransferCompleted",
): Promise<{ aggregate: string; ids: string[] }> {
  const aggregate = newId("transfer");
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = newUuidV7();
    ids.push(id);
    await db.execute(sql`insert into transfers.outbox (id, aggregate_id, type, payload, traceparent)
      values (${id}, ${aggregate}, ${type}, ${JSON.stringify({ ...payload(aggregate), seq: i })}::jsonb,
              ${"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})`);
  }
  return { aggregate, ids };
}

function recorder(options: { failWith?: () => unknown; delayMs?: number } = {}): Publisher & { seen: CloudEvent[] } {
  const seen: CloudEvent[] = [];
  return {
    seen,
    async publish(_topic, _key, event) {
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const failure = options.failWith?.();
      if (failure) throw failure;
      seen.push(event);
    },
  };
}

const idsOf = (events: CloudEvent[], aggregate: string) =>
  events.filter((e) => e.subject === aggregate).map((e) => e.id);

async function drain(db: Database, publisher: Publisher) {
  for (let pass = 0; pass < 50; pass++) {
    const result = await relayOutbox(db, { schema: "transfers", publisher, batchSize: 500 });
    if (result.published === 0) return;
  }
}

describe("the outbox relay", () => {
  it("publishes pending events in commit order per aggregate, as CloudEvents, and marks them sent", async () => {
    await withDatabase(settings(), async (db) => {
      const a = await pending(db, 3);
      const b = await pending(db, 2);
      const publisher = recorder();
      await drain(db, publisher);
      expect(idsOf(publisher.seen, a.aggregate)).toEqual(a.ids);
      expect(idsOf(publisher.seen, b.aggregate)).toEqual(b.ids);
      const first = publisher.seen.find((e) => e.id === a.ids[0]);
      expect(first).toMatchObject({
        type: "TransferCompleted",
        source: "/edgebank/transfers",
        subject: a.aggregate,
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      });
      const unsent = resultRows<{ n: number }>(
        await db.execute(sql`select count(*)::int as n from transfers.outbox
                              where aggregate_id in (${a.aggregate}, ${b.aggregate}) and published_at is null`),
      );
      expect(unsent[0]?.n).toBe(0);
      // Nothing of these is published twice by a later pass.
      const again = recorder();
      await drain(db, again);
      expect(idsOf(again.seen, a.aggregate)).toEqual([]);
    });
  });

  it("/ready shows the backlog (pending events, the oldest one's age) without becoming unready", async () => {
    await withDatabase(settings(), async (db) => {
      const a = await pending(db, 2);
      await db.execute(sql`update transfers.outbox set created_at = now() - interval '90 seconds'
                            where aggregate_id = ${a.aggregate}`);
      const response = await exports.default.fetch(new Request("https://transfers.internal/ready"));
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        checks: Record<string, { status: string; details?: Record<string, number> }>;
      };
      expect(body.checks.database?.status).toBe("up");
      expect(body.checks.database?.details?.outboxPending).toBeGreaterThanOrEqual(2);
      expect(body.checks.database?.details?.outboxOldestAgeSeconds).toBeGreaterThanOrEqual(90);
      await drain(db, recorder());
    });
  });

  it("a relay that crashes after publishing, before marking, publishes the same events again", async () => {
    await withDatabase(settings(), async (db) => {
      const a = await pending(db, 2);
      const first = recorder();
      const crashing = {
        ...db,
        transaction: (work: (tx: Database) => Promise<unknown>) =>
          db.transaction(async (tx) => {
            await work(tx as unknown as Database);
            throw new Error("the relay died before its commit");
          }),
      } as unknown as Database;
      await expect(relayOutbox(crashing, { schema: "transfers", publisher: first, batchSize: 500 })).rejects.toThrow(
        /died/,
      );
      expect(idsOf(first.seen, a.aggregate)).toEqual(a.ids);
      const second = recorder();
      await drain(db, second);
      // Same event ids again: at-least-once delivery, made exactly-once by the consumers' inbox.
      expect(idsOf(second.seen, a.aggregate)).toEqual(a.ids);
    });
  });

  it("while the broker is down nothing is marked; afterwards everything arrives, in order per aggregate", async () => {
    await withDatabase(settings(), async (db) => {
      const a = await pending(db, 3);
      const b = await pending(db, 2);
      const down = recorder({ failWith: () => Object.assign(new Error("503 from the broker"), { retryable: true }) });
      const result = await relayOutbox(db, { schema: "transfers", publisher: down, batchSize: 500 });
      expect(result).toMatchObject({ published: 0, brokerFailed: true });
      expect((await outboxBacklog(db, "transfers")).pending).toBeGreaterThanOrEqual(5);

      const up = recorder();
      await drain(db, up);
      expect(idsOf(up.seen, a.aggregate)).toEqual(a.ids);
      expect(idsOf(up.seen, b.aggregate)).toEqual(b.ids);
    });
  });

  it("an event the catalog does not know holds back its own aggregate only", async () => {
    await withDatabase(settings(), async (db) => {
      const bad = await pending(db, 1, "TransferTeleported");
      const good = await pending(db, 2);
      const publisher = recorder();
      const errors: string[] = [];
      try {
        const result = await relayOutbox(db, {
          schema: "transfers",
          publisher,
          batchSize: 500,
          onError: (row) => errors.push(row.aggregateId),
        });
        expect(result.brokerFailed).toBe(false);
        expect(errors).toContain(bad.aggregate);
        expect(idsOf(publisher.seen, good.aggregate)).toEqual(good.ids);
      } finally {
        // It stays pending (and counted in the backlog) until someone fixes it; here, the test.
        await db.execute(sql`update transfers.outbox set published_at = now() where aggregate_id = ${bad.aggregate}`);
      }
    });
  });

  it("two relays at once never publish one event twice nor one aggregate out of order", async () => {
    const aggregates = await withDatabase(settings(), async (db) => {
      const made = [];
      for (let i = 0; i < 6; i++) made.push(await pending(db, 4));
      return made;
    });
    const shared = recorder({ delayMs: 5 });
    await Promise.all([0, 1].map(() => withDatabase(settings(), (db) => drain(db, shared))));
    for (const { aggregate, ids } of aggregates) expect(idsOf(shared.seen, aggregate)).toEqual(ids);
  });

  it("a run with less than a batch to do is one transaction, the backlog it leaves measured inside it", async () => {
    await withDatabase(settings(), async (db) => {
      const a = await pending(db, 3);
      // Counts what reaches the database: transactions, and statements outside them (each its own commit).
      const seen = { transactions: 0, statements: 0 };
      const counted = new Proxy(db, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            if (property === "transaction") seen.transactions += 1;
            if (property === "execute" || property === "select" || property === "update") seen.statements += 1;
            return value.apply(target, args);
          };
        },
      });
      const log: Logger = { debug() {}, info() {}, warn() {}, error() {} };
      const result = await drainOutbox(env, counted, {
        schema: "transfers",
        log,
        context: { service: "transfers", version: "test" },
      });
      expect(seen).toEqual({ transactions: 1, statements: 0 });
      expect(result.published).toBeGreaterThanOrEqual(3);
      const [left] = resultRows<{ n: number }>(
        await db.execute(sql`select count(*)::int as n from transfers.outbox
                              where aggregate_id = ${a.aggregate} and published_at is null`),
      );
      expect(left?.n).toBe(0);
    });
  });

  it("through the Kafka REST client to the broker: the envelope as value, the aggregate id as key", async () => {
    const client = new KafkaRestClient({ url: env.KAFKA_REST_URL, produceApi: "v3", clusterId: "edgebank-dev" });
    const consumer = await client.createConsumer(`relay-test-${crypto.randomUUID()}`, { reset: "latest" });
    await client.subscribe(consumer, ["edgebank.transfers"]);
    await client.fetchRecords(consumer, { timeoutMs: 0 }); // positions taken: only what follows is read
    const a = await withDatabase(settings(), async (db) => {
      const made = await pending(db, 2);
      await drain(db, kafkaPublisher(client));
      return made;
    });
    const received: Array<{ key: unknown; id: string }> = [];
    for (let poll = 0; poll < 20 && received.filter((r) => r.key === a.aggregate).length < 2; poll++) {
      for (const record of await client.fetchRecords(consumer, { timeoutMs: 500 })) {
        const parsed = parseEvent(record.value);
        if (parsed.ok) received.push({ key: record.key, id: parsed.event.id });
      }
    }
    expect(received.filter((r) => r.key === a.aggregate).map((r) => r.id)).toEqual(a.ids);
    await client.deleteConsumer(consumer);
  });
});

describe("the transfers relay object (OUTBOX_RELAY)", () => {
  it("publishes what many settlements committed, poked by each, in fewer runs than pokes", async () => {
    await withDatabase(settings(), async (db) => {
      const written = await Promise.all(Array.from({ length: 10 }, () => pending(db, 1)));
      const relay = env.OUTBOX_RELAY.get(env.OUTBOX_RELAY.idFromName("transfers"));
      const before = await relay.status();
      // Ten sagas settle at once and each pokes the relay object; nobody runs the cron sweeper.
      await Promise.all(written.map(() => relay.poke("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));
      const after = await relay.status();
      expect(after.pokes - before.pokes).toBe(10);
      expect(after.runs - before.runs).toBeGreaterThanOrEqual(1);
      expect(after.runs - before.runs).toBeLessThan(10);
      const aggregates = written.map((w) => w.aggregate);
      const unsent = resultRows<{ n: number }>(
        await db.execute(sql`select count(*)::int as n from transfers.outbox
                              where aggregate_id in ${sql.raw(`(${aggregates.map((a) => `'${a}'`).join(", ")})`)}
                                and published_at is null`),
      );
      expect(unsent[0]?.n).toBe(0);
    });
  });
});
