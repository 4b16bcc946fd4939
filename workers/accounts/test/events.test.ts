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
describe("account events on Kafka", () => {
  it("each applied operation becomes one event of the catalog, in order, keyed by the account", async () => {
    const kafka = new KafkaRestClient({ url: env.KAFKA_REST_URL, produceApi: "v2" });
    const consumer = await kafka.createConsumer(`accounts-test-${crypto.randomUUID()}`, { reset: "latest" });
    await kafka.subscribe(consumer, ["edgebank.accounts"]);
    await kafka.fetchRecords(consumer, { timeoutMs: 0 }); // from here on

    const owner = await customer();
    const { token } = await testCaller(env, "accounts:operate", "client");
    const operator = await testCaller(env, "accounts:read operator");
    const { id } = await openAccount(owner.token, "EUR");
    const operate = (body: Record<string, unknown>) =>
      call(`/internal/v1/accounts/${id}/operations`, token, {
        method: "POST",
        headers: { "content-type": "application/json" },
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
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    expect(frozen.status).toBe(200);

    const events: Array<{ key: unknown; type: string; data: Record<string, unknown> }> = [];
    // Other tests' accounts publish to the same topic meanwhile: read until ours are in (≤ 15 s).
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && events.length < 4) {
      // The cron sweeper's pass: whatever the object's own relay has not sent yet.
      await relayAccountEvents(env, "cron");
      for (const record of await kafka.fetchRecords(consumer, { timeoutMs: 300 })) {
        const parsed = parseEvent(record.value);
        expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
        if (parsed.ok && parsed.event.subject === id) {
          events.push({ key: record.key, type: parsed.event.type, data: parsed.event.data as Record<string, unknown> });
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
    await kafka.deleteConsumer(consumer);
  });
});
