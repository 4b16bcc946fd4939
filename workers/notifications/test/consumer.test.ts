import { env, exports } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import {
  type BatchOutcome,
  type ConsumerMemory,
  type ConsumerSpec,
  consumeBatch,
  consumerLag,
  deadLetterTopic,
  redriveDeadLetter,
} from "@edgebank/consumer";
import { resultRows } from "@edgebank/db";
import { type CloudEvent, toCloudEvent } from "@edgebank/events";
import { newId, newUuidV7 } from "@edgebank/ids";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { notifiedEvents, recordNotification } from "../src/domain/notifications.ts";
import { broker, deadLetterOf, inDatabase, sleep, transferEvent } from "./helpers.ts";

/**
 * The shared consumer (@edgebank/consumer) with the notifications handler, against the test
 * setup's Kafka REST broker and the service's real database. Each test reads a topic and a
 * group of its own, so the service's own consumer (started by requests) never sees them.
 */
function spec(overrides: Partial<ConsumerSpec> = {}): ConsumerSpec {
  const unique = crypto.randomUUID().slice(0, 8);
  return {
    group: `test-notifications-${unique}`,
    topic: `test.transfers.${unique}`,
    schema: "notifications",
    types: ["TransferCompleted", "TransferFailed"],
    maxAttempts: 3,
    handle: recordNotification,
    ...overrides,
  };
}

async function publish(topic: string, event: CloudEvent | unknown, key?: string) {
  const subject = (event as { subject?: string }).subject;
  await broker().produce({ topic, key: key ?? subject ?? "poison", value: event });
}

/** Batches until `until` holds (each batch long-polls 300 ms). */
async function consumeUntil(s: ConsumerSpec, memory: ConsumerMemory, until: () => boolean, batches = 20) {
  const outcomes = [];
  for (let i = 0; i < batches && !until(); i++) {
    outcomes.push(await consumeBatch({ client: broker(), spec: s, memory, pollMs: 300, withDb: inDatabase }));
  }
  return outcomes;
}

type Counted = "fetched" | "handled" | "duplicates" | "passed" | "deadLettered";
const total = (outcomes: BatchOutcome[], key: Counted) => outcomes.reduce((sum, o) => sum + o[key], 0);

async function notificationsOf(userId: string) {
  return inDatabase(async (db) =>
    resultRows<{ type: string; event_id: string; title: string; body: string }>(
      await db.execute(
        sql`select type, event_id, title, body from notifications.notifications where user_id = ${userId} order by id`,
      ),
    ),
  );
}

describe("consuming events once", () => {
  it("applies an event once however often it is delivered (a relay that republished it)", async () => {
    const s = spec();
    const payer = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
    const event = transferEvent(payer);
    // The relay crashed between publishing and marking: the same event twice, same id.
    await publish(s.topic, event);
    await publish(s.topic, event);
    const memory: ConsumerMemory = { attempts: {}, positions: {} };
    const outcomes = await consumeUntil(s, memory, () => false, 3);
    expect(total(outcomes, "fetched")).toBe(2);
    expect(total(outcomes, "handled")).toBe(1);
    expect(total(outcomes, "duplicates")).toBe(1);
    const inbox = await notificationsOf(payer);
    expect(inbox).toEqual([
      {
        type: "TransferCompleted",
        event_id: event.id,
        title: "Transfer completed",
        body: expect.stringContaining("12.50 EUR") as string,
      },
    ]);
    // Committed: a new instance of the group starts after them, and nothing is waiting.
    expect(await consumerLag(broker(), s, memory)).toBe(0);
    const again: ConsumerMemory = { attempts: {}, positions: {} };
    expect(total(await consumeUntil(s, again, () => false, 1), "fetched")).toBe(0);
  });

  it("joins again when its instance's proxy cannot be reached (a stored instance of a broker that is gone)", async () => {
    const s = spec();
    const payer = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
    await publish(s.topic, transferEvent(payer));
    // What an object kept from an earlier broker: an instance on a proxy nobody listens at.
    const memory: ConsumerMemory = {
      attempts: {},
      positions: {},
      instance: { group: s.group, id: "gone", baseUri: "http://127.0.0.1:9/consumers/gone/instances/gone" },
    };
    const failed = await consumeBatch({ client: broker(), spec: s, memory, pollMs: 300, withDb: inDatabase }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(Error);
    expect(memory.instance).toBeUndefined();
    await consumeUntil(s, memory, () => false, 3);
    expect((await notificationsOf(payer)).map((n) => n.type)).toEqual(["TransferCompleted"]);
  });

  it("tells the operator who started a rollout that it was rolled back, once", async () => {
    const s = spec({ types: notifiedEvents });
    const operator = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
    const rolloutId = newId("rollout");
    const event = toCloudEvent({
      id: newUuidV7(),
      aggregateId: rolloutId,
      type: "RolloutRolledBack",
      createdAt: new Date(),
      payload: {
        rolloutId,
        worker: "edgebank-transfers-staging",
        startedBy: operator,
        stableVersionId: "11111111-1111-4111-8111-111111111111",
        canaryVersionId: "22222222-2222-4222-8222-222222222222",
        reason: "5xx ratio 20.00 % is above the 1.00 % allowed",
      },
    });
    await publish(s.topic, event);
    await publish(s.topic, event);
    await consumeUntil(s, { attempts: {}, positions: {} }, () => false, 3);
    expect(await notificationsOf(operator)).toEqual([
      {
        type: "RolloutRolledBack",
        event_id: event.id,
        title: "Rollout rolled back",
        body:
          "edgebank-transfers-staging 22222222-2222-4222-8222-222222222222 was rolled back: all traffic is on the " +
          "stable version again (5xx ratio 20.00 % is above the 1.00 % allowed).",
      },
    ]);
  });

  it("tells a customer of money that came into their account by a transfer or a deposit, and of nothing else", async () => {
    const s = spec({ types: notifiedEvents });
    const owner = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
    const accountId = newId("account");
    const credited = (operationId: string, ownerId?: string) =>
      toCloudEvent({
        id: newUuidV7(),
        aggregateId: accountId,
        type: "AccountCredited",
        createdAt: new Date(),
        payload: {
          accountId,
          ...(ownerId ? { ownerId } : {}),
          currency: "EUR",
          operationId,
          amount: "10000",
          posted: "10000",
          pending: "0",
          available: "10000",
        },
      });
    const transferId = newId("transfer");
    const deposit = credited(`${transferId}:credit`, owner);
    // A payment's credit is the merchant's "Payment received"; a compensation's return, a
    // settlement account's credit (no owner) and another step's credit are not news of their own.
    const others = [
      credited(`${newId("payment")}:credit`, owner),
      credited(`${transferId}:return-capture1`, owner),
      credited(`${newId("transfer")}:credit`),
    ];
    for (const event of [deposit, ...others, deposit]) await publish(s.topic, event);
    await consumeUntil(s, { attempts: {}, positions: {} }, () => false, 3);
    expect(await notificationsOf(owner)).toEqual([
      {
        type: "AccountCredited",
        event_id: deposit.id,
        title: "Money received",
        body: `100.00 EUR arrived on ${accountId}.`,
      },
    ]);
  });

  it("prepares outside the inbox transaction: before each attempt, never for an event already applied", async () => {
    const steps: string[] = [];
    let failures = 1;
    const s = spec({
      prepare: async (db, event) => {
        // Before the inbox transaction: the event is not recorded as applied yet.
        const recorded = resultRows(
          await db.execute(sql`select 1 from notifications.inbox where event_id = ${event.id}`),
        );
        steps.push(`prepare ${event.id}${recorded.length > 0 ? " after its inbox row" : ""}`);
      },
      handle: async (tx, event) => {
        steps.push(`handle ${event.id}`);
        if (failures-- > 0) throw new Error("the handler failed once");
        await recordNotification(tx, event);
      },
    });
    const payer = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
    const event = transferEvent(payer);
    await publish(s.topic, event);
    await publish(s.topic, event);
    const memory: ConsumerMemory = { attempts: {}, positions: {} };
    const outcomes = await consumeUntil(s, memory, () => steps.filter((x) => x.startsWith("handle")).length >= 2, 10);
    outcomes.push(...(await consumeUntil(s, memory, () => false, 2)));
    expect(total(outcomes, "handled")).toBe(1);
    expect(total(outcomes, "duplicates")).toBe(1);
    // Failed attempt, then the applied one; the second delivery found the inbox row first.
    expect(steps).toEqual([`prepare ${event.id}`, `handle ${event.id}`, `prepare ${event.id}`, `handle ${event.id}`]);
    expect(await notificationsOf(payer)).toHaveLength(1);
  });

  it("holds a failing event (and its partition), dead-letters it after N attempts; a redrive applies it once", async () => {
    let broken = true;
    const s = spec({
      handle: async (tx, event) => {
        if (broken && (event.data as { amount: string }).amount === "666") throw new Error("handler bug");
        await recordNotification(tx, event);
      },
    });
    const payer = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
    const poison = transferEvent(payer, { amount: "666" });
    const next = transferEvent(payer, { amount: "700" });
    // Same key: same partition, so the second waits behind the first.
    await publish(s.topic, poison, "acc_same");
    await publish(s.topic, next, "acc_same");
    const memory: ConsumerMemory = { attempts: {}, positions: {} };

    const first = await consumeUntil(s, memory, () => false, 1);
    expect(first[0]?.retrying).toEqual([expect.objectContaining({ attempts: 1, error: "handler bug" })]);
    expect(await notificationsOf(payer)).toEqual([]);

    const outcomes = await consumeUntil(s, memory, () => false, 4);
    expect(total(outcomes, "deadLettered")).toBe(1);
    expect(total(outcomes, "handled")).toBe(1);
    // The one behind it was applied, in order, after the poison went to the dead letters.
    expect((await notificationsOf(payer)).map((n) => n.event_id)).toEqual([next.id]);

    const [letter] = await inDatabase(async (db) =>
      resultRows<{ id: string; event_id: string; attempts: number; error: string }>(
        await db.execute(sql`select id, event_id, attempts, error from notifications.dead_letters
                              where consumer = ${s.group}`),
      ),
    );
    expect(letter).toMatchObject({ event_id: poison.id, attempts: 3, error: "handler bug" });
    // It is on the dead-letter topic too, with why.
    const reader = await broker().createConsumer(`${s.group}-dlq-reader`, { reset: "earliest" });
    await broker().subscribe(reader, [deadLetterTopic(s)]);
    const dead = await broker().fetchRecords(reader, { timeoutMs: 1_000 });
    expect(dead.map((r) => r.value)).toEqual([
      expect.objectContaining({ consumer: s.group, error: "handler bug", attempts: 3, value: poison }),
    ]);
    await broker().deleteConsumer(reader);

    // Redriven while still broken: refused, still waiting.
    if (!letter) throw new Error("no dead letter");
    await expect(inDatabase((db) => redriveDeadLetter(db, s, letter.id, "usr_operator"))).rejects.toThrow(
      "handler bug",
    );
    broken = false;
    expect(await inDatabase((db) => redriveDeadLetter(db, s, letter.id, "usr_operator"))).toEqual({
      status: "applied",
    });
    expect(await inDatabase((db) => redriveDeadLetter(db, s, letter.id, "usr_operator"))).toEqual({
      status: "already_redriven",
    });
    expect((await notificationsOf(payer)).map((n) => n.event_id).sort()).toEqual([next.id, poison.id].sort());
  });

  it("holds an event that met an unavailable database or service without counting it: an outage never dead-letters", async () => {
    // What the handler meets, in turn, more times than maxAttempts: the server cutting the
    // connection (as pg_terminate_backend, a crash or a pooler restart does), then a service
    // that is down (the resilience layer's 503), then it works.
    const outages = [
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
      new Error("Failed query: insert …", { cause: new Error("Connection terminated unexpectedly") }),
      Object.assign(new Error("accounts is unavailable; try again later."), { code: "dependency_unavailable" }),
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
    ];
    const s = spec({
      handle: async (tx, event) => {
        const outage = outages.shift();
        if (outage) throw outage;
        await recordNotification(tx, event);
      },
    });
    const payer = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
    const event = transferEvent(payer);
    await publish(s.topic, event);
    const memory: ConsumerMemory = { attempts: {}, positions: {} };
    const outcomes = await consumeUntil(s, memory, () => false, 6);
    expect(outcomes.flatMap((o) => o.retrying)).toEqual(
      Array.from({ length: 4 }, () => expect.objectContaining({ attempts: 0, unavailable: true })),
    );
    expect(total(outcomes, "deadLettered")).toBe(0);
    expect(total(outcomes, "handled")).toBe(1);
    expect((await notificationsOf(payer)).map((n) => n.event_id)).toEqual([event.id]);
    expect(memory.attempts).toEqual({});
  });

  it("reads a batch again when the database failed under it (the broker had moved the instance past it)", async () => {
    const s = spec();
    const payer = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
    const event = transferEvent(payer);
    await publish(s.topic, event);
    const memory: ConsumerMemory = { attempts: {}, positions: {} };
    let failing = true;
    const withDb: typeof inDatabase = (work) => {
      if (!failing) return inDatabase(work);
      failing = false;
      return Promise.reject(new Error("Connection terminated unexpectedly"));
    };
    // The first batch fetched the event, then lost its database: nothing applied, nothing committed.
    let fetched = 0;
    for (let i = 0; i < 10 && failing; i++) {
      await consumeBatch({ client: broker(), spec: s, memory, pollMs: 300, withDb }).then(
        (outcome) => {
          fetched += outcome.fetched;
        },
        () => undefined,
      );
    }
    expect(failing).toBe(false);
    expect(fetched).toBe(0);
    expect(memory.instance).toBeUndefined();
    const outcomes = await consumeUntil(s, memory, () => false, 3);
    expect(total(outcomes, "handled")).toBe(1);
    expect((await notificationsOf(payer)).map((n) => n.event_id)).toEqual([event.id]);
  });

  it("applies a batch in one transaction; an event that throws rolls back alone and holds back its partition", async () => {
    let broken = true;
    const s = spec({
      handle: async (tx, event) => {
        await recordNotification(tx, event);
        // After writing: its savepoint must take the notification back with it.
        if (broken && (event.data as { amount: string }).amount === "666") throw new Error("handler bug");
      },
    });
    const payers = Array.from({ length: 5 }, () => `usr_test_${crypto.randomUUID().slice(0, 8)}`);
    const events = payers.map((payer, i) => transferEvent(payer, { amount: i === 2 ? "666" : String(100 + i) }));
    // One key: one partition, in this order.
    for (const event of events) await publish(s.topic, event, "acc_batch");
    const transactions: number[] = [];
    const memory: ConsumerMemory = { attempts: {}, positions: {} };
    const batch = () =>
      consumeBatch({
        client: broker(),
        spec: s,
        memory,
        pollMs: 300,
        // Counts the transactions each batch opens on the database.
        withDb: (work) =>
          inDatabase((db) => {
            let opened = 0;
            const counted = new Proxy(db, {
              get(target, property, receiver) {
                const value = Reflect.get(target, property, receiver);
                if (property !== "transaction" || typeof value !== "function") return value;
                return (...args: unknown[]) => {
                  opened += 1;
                  return value.apply(target, args);
                };
              },
            });
            return work(counted).finally(() => transactions.push(opened));
          }),
      });

    const first = await batch();
    expect(first).toMatchObject({ fetched: 5, handled: 2 });
    expect(first.retrying).toEqual([expect.objectContaining({ attempts: 1, error: "handler bug" })]);
    expect(transactions).toEqual([1]);
    const notified = async () => Promise.all(payers.map(async (payer) => (await notificationsOf(payer)).length));
    expect(await notified()).toEqual([1, 1, 0, 0, 0]);

    broken = false;
    const outcomes = await consumeUntil(s, memory, () => false, 3);
    expect(total(outcomes, "handled")).toBe(3);
    expect(await notified()).toEqual([1, 1, 1, 1, 1]);
  });

  it("sends a value that is not an event of the catalog to the dead letters at once", async () => {
    const s = spec();
    await publish(s.topic, { hello: "world" }, "k");
    const memory: ConsumerMemory = { attempts: {}, positions: {} };
    const outcomes = await consumeUntil(s, memory, () => false, 2);
    expect(total(outcomes, "deadLettered")).toBe(1);
    const rows = await inDatabase(async (db) =>
      resultRows<{ error: string; attempts: number }>(
        await db.execute(sql`select error, attempts from notifications.dead_letters where consumer = ${s.group}`),
      ),
    );
    expect(rows).toEqual([{ error: expect.stringContaining("not a CloudEvent") as string, attempts: 1 }]);
  });

  it("passes over event types it does not act on, without an inbox row", async () => {
    const s = spec({ types: ["TransferFailed"] });
    const event = transferEvent(`usr_test_${crypto.randomUUID().slice(0, 8)}`);
    await publish(s.topic, event);
    const outcomes = await consumeUntil(s, { attempts: {}, positions: {} }, () => false, 2);
    expect(total(outcomes, "passed")).toBe(1);
    const rows = await inDatabase(async (db) =>
      resultRows(await db.execute(sql`select 1 from notifications.inbox where event_id = ${event.id}`)),
    );
    expect(rows).toEqual([]);
  });
});

describe("the service's consumer object", () => {
  it("started by a request, brings a published transfer event into the payer's inbox, once", async () => {
    const payer = await testCaller(env, "notifications:read notifications:write");
    const failed = transferEvent(payer.id, { type: "TransferFailed", reason: "insufficient_funds" });
    await broker().produce({ topic: "edgebank.transfers", key: failed.subject, value: failed });
    const list = () =>
      exports.default.fetch(
        new Request("http://notifications.internal/v1/notifications", {
          headers: { authorization: `Bearer ${payer.token}` },
        }),
      );
    let items: Array<{ id: string; title: string; readAt: string | null }> = [];
    // The group reads the topic from its start: under a full test run, the transfers tests'
    // events come first.
    for (let i = 0; i < 400 && items.length === 0; i++) {
      items = ((await (await list()).json()) as { items: typeof items }).items;
      if (items.length === 0) await sleep(100);
    }
    expect(items).toEqual([expect.objectContaining({ title: "Transfer failed", readAt: null })]);
    // Delivered again: still one.
    await broker().produce({ topic: "edgebank.transfers", key: failed.subject, value: failed });
    await sleep(1_500);
    expect(((await (await list()).json()) as { items: unknown[] }).items).toHaveLength(1);

    // Mark it read; a stranger cannot.
    const id = items[0]?.id ?? "";
    const stranger = await testCaller(env, "notifications:read notifications:write");
    const read = (token: string) =>
      exports.default.fetch(
        new Request(`http://notifications.internal/v1/notifications/${id}/read`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        }),
      );
    expect((await read(stranger.token)).status).toBe(404);
    const marked = (await (await read(payer.token)).json()) as { readAt: string | null };
    expect(marked.readAt).not.toBeNull();
    const unread = await exports.default.fetch(
      new Request("http://notifications.internal/v1/notifications?unread=true", {
        headers: { authorization: `Bearer ${payer.token}` },
      }),
    );
    expect(((await unread.json()) as { items: unknown[] }).items).toEqual([]);
  }, 60_000);
});

describe("operators and dead letters", () => {
  it("list what waits and redrive it once through the API; customers may not", async () => {
    const payer = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
    const event = transferEvent(payer);
    const id = await deadLetterOf(event);
    const operator = await testCaller(env, "operator");
    const customer = await testCaller(env, "notifications:read notifications:write");
    const call = (path: string, token: string, method = "GET") =>
      exports.default.fetch(
        new Request(`http://notifications.internal${path}`, { method, headers: { authorization: `Bearer ${token}` } }),
      );
    expect((await call("/v1/notifications/dead-letters", customer.token)).status).toBe(403);
    const waiting = (await (await call("/v1/notifications/dead-letters", operator.token)).json()) as {
      items: Array<{ id: string; eventId: string; error: string }>;
    };
    expect(waiting.items).toContainEqual(expect.objectContaining({ id, eventId: event.id, error: "handler bug" }));

    expect((await call(`/v1/notifications/dead-letters/${id}/redrive`, customer.token, "POST")).status).toBe(403);
    const redriven = await call(`/v1/notifications/dead-letters/${id}/redrive`, operator.token, "POST");
    expect(redriven.status).toBe(200);
    expect(await redriven.json()).toEqual({ id, outcome: "applied" });
    expect((await notificationsOf(payer)).map((n) => n.event_id)).toEqual([event.id]);
    const again = await call(`/v1/notifications/dead-letters/${id}/redrive`, operator.token, "POST");
    expect(again.status).toBe(409);
    expect(again.headers.get("content-type")).toBe("application/problem+json");
    expect((await notificationsOf(payer)).map((n) => n.event_id)).toEqual([event.id]);
    const after = (await (await call("/v1/notifications/dead-letters", operator.token)).json()) as {
      items: Array<{ id: string }>;
    };
    expect(after.items.map((item) => item.id)).not.toContain(id);
  });
});
