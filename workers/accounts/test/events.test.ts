import { env } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import { parseEvent } from "@edgebank/events";
import { KafkaRestClient } from "@edgebank/kafka";
import { describe, expect, it } from "vitest";
import { relayAccountEvents } from "../src/events.ts";
import { call, customer, openAccount } from "./helpers.ts";

/**
 * What the AccountDO commits reaches Kafka as catalog events: after the answer (the object's
 * relay), or at the latest from the cron sweeper; in commit order on the account's partition.
 */
/** A consumer group of its own on edgebank.accounts, reading what is published from now on. */
async function readerFromNow() {
  const kafka = new KafkaRestClient({ url: env.KAFKA_REST_URL, produceApi: "v2" });
  const consumer = await kafka.createConsumer(`accounts-test-${crypto.randomUUID()}`, { reset: "latest" });
  await kafka.subscribe(consumer, ["edgebank.accounts"]);
  await kafka.fetchRecords(consumer, { timeoutMs: 0 });
  return { kafka, consumer };
}

describe("account events on Kafka", () => {
  it("each applied operation becomes one event of the catalog, in order, keyed by the account", async () => {
    const { kafka, consumer } = await readerFromNow();

    const owner = await customer();
    const { token } = await testCaller(env, "accounts:operate", "client");
    const operator = await testCaller(env, "accounts:read operator");
    const { id } = await openAccount(owner.token, "EUR");
    // Each request arrives in a trace of its caller's; its event continues that trace.
    const trace = (n: number) => `${crypto.randomUUID().replaceAll("-", "").slice(0, 30)}0${n}`;
    const traces = [trace(1), trace(2), trace(3), trace(4), trace(5)];
    const traceparent = (n: number) => `00-${traces[n]}-00f067aa0ba902b7-01`;
    let sent = 0;
    const operate = (body: Record<string, unknown>) =>
      call(`/internal/v1/accounts/${id}/operations`, token, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: traceparent(sent++) },
        body: JSON.stringify(body),
      });
    const later = new Date(Date.now() + 60_000).toISOString();
    expect((await operate({ kind: "credit", operationId: "in", amount: "500", currency: "EUR" })).status).toBe(200);
    expect(
      (
        await operate({
          kind: "hold",
          operationId: "h",
          holdId: "h1",
          amount: "200",
          currency: "EUR",
          expiresAt: later,
        })
      ).status,
    ).toBe(200);
    expect((await operate({ kind: "capture", operationId: "c", holdId: "h1", amount: "150" })).status).toBe(200);
    expect((await operate({ kind: "debit", operationId: "too-much", amount: "9999", currency: "EUR" })).status).toBe(
      422,
    );
    const frozen = await call(`/v1/accounts/${id}/freeze`, operator.token, {
      method: "POST",
      headers: { "idempotency-key": crypto.randomUUID(), traceparent: traceparent(sent++) },
    });
    expect(frozen.status).toBe(200);

    const events: Array<{ key: unknown; type: string; data: Record<string, unknown>; traceparent?: string }> = [];
    // Other tests' accounts publish to the same topic meanwhile: read until ours are in (≤ 15 s).
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && events.length < 4) {
      // The cron sweeper's pass: whatever the object's own relay has not sent yet.
      await relayAccountEvents(env, "cron");
      for (const record of await kafka.fetchRecords(consumer, { timeoutMs: 300 })) {
        const parsed = parseEvent(record.value);
        expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
        if (parsed.ok && parsed.event.subject === id) {
          events.push({
            key: record.key,
            type: parsed.event.type,
            data: parsed.event.data as Record<string, unknown>,
            ...(parsed.event.traceparent ? { traceparent: parsed.event.traceparent } : {}),
          });
        }
      }
    }
    // The refused debit changed nothing and published nothing.
    expect(events.map((e) => e.type)).toEqual(["AccountCredited", "HoldPlaced", "HoldCaptured", "AccountFrozen"]);
    expect(new Set(events.map((e) => e.key))).toEqual(new Set([id]));
    expect(events[2]?.data).toMatchObject({
      accountId: id,
      operationId: "c",
      holdId: "h1",
      amount: "150",
      posted: "350",
    });
    expect(events[3]?.data).toMatchObject({ status: "frozen", actor: operator.id });
    // Whose account and in what currency: what a consumer telling the owner needs.
    for (const event of events) expect(event.data).toMatchObject({ ownerId: owner.id, currency: "EUR" });
    // Same trace as the request (the refused debit's, index 3, published nothing), with the
    // accounts service's span as parent.
    expect(events.map((e) => e.traceparent?.split("-")[1])).toEqual([traces[0], traces[1], traces[2], traces[4]]);
    for (const event of events)
      expect(event.traceparent).toMatch(/^00-[0-9a-f]{32}-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$/);
    await kafka.deleteConsumer(consumer);
  });

  it("commits of many accounts reach Kafka without the cron, relayed together by the service's relay object", async () => {
    const { kafka, consumer } = await readerFromNow();
    const owner = await customer();
    const { token } = await testCaller(env, "accounts:operate", "client");
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await openAccount(owner.token, "EUR")).id);
    const relay = env.OUTBOX_RELAY.get(env.OUTBOX_RELAY.idFromName("accounts"));
    const before = await relay.status();

    // Twenty objects commit at once; nobody runs the cron sweeper.
    const answers = await Promise.all(
      [...ids].map((id) =>
        call(`/internal/v1/accounts/${id}/operations`, token, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ kind: "credit", operationId: "in", amount: "100", currency: "EUR" }),
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([...ids].map(() => 200));
    const credited = new Set<string>();
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && credited.size < ids.size; ) {
      for (const record of await kafka.fetchRecords(consumer, { timeoutMs: 300 })) {
        const parsed = parseEvent(record.value);
        if (parsed.ok && parsed.event.type === "AccountCredited" && ids.has(String(parsed.event.subject))) {
          credited.add(String(parsed.event.subject));
        }
      }
    }
    expect(credited).toEqual(ids);
    // Each object poked the relay object; it ran fewer times than it was poked.
    const after = await relay.status();
    const pokes = after.pokes - before.pokes;
    const runs = after.runs - before.runs;
    expect(pokes).toBeGreaterThanOrEqual(ids.size);
    expect(runs).toBeGreaterThan(0);
    expect(runs).toBeLessThan(pokes);
    await kafka.deleteConsumer(consumer);
  });
});
