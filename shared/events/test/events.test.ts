import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { eventsMarkdown, expectEvent, isEventOf, parseEvent, toCloudEvent, topicOf } from "../src/index.ts";

const row = {
  id: "0194f0c2-6b1a-7d3e-8f00-0123456789ab",
  aggregateId: "trf_01jq0000000000000000000000",
  type: "TransferCompleted",
  payload: {
    transferId: "trf_01jq0000000000000000000000",
    fromAccountId: "acc_a",
    toAccountId: "acc_b",
    amount: "2550",
    currency: "EUR",
    status: "COMPLETED",
  },
  createdAt: new Date("2026-11-24T10:00:00.000Z"),
};

describe("the event catalog and its envelope", () => {
  it("wraps an outbox row in a CloudEvents 1.0 envelope that a consumer parses back", () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const event = toCloudEvent(row, traceparent);
    expect(event).toEqual({
      specversion: "1.0",
      id: row.id,
      type: "TransferCompleted",
      source: "/edgebank/transfers",
      subject: row.aggregateId,
      time: "2026-11-24T10:00:00.000Z",
      datacontenttype: "application/json",
      dataschema: "/edgebank/events/TransferCompleted/v1",
      traceparent,
      data: row.payload,
    });
    expect(topicOf("TransferCompleted")).toBe("edgebank.transfers");
    expect(parseEvent(JSON.parse(JSON.stringify(event)))).toEqual({ ok: true, event });
  });

  it("refuses to publish what the catalog does not describe", () => {
    expect(() => toCloudEvent({ ...row, type: "TransferTeleported" })).toThrow(/not in the catalog/);
    expect(() => toCloudEvent({ ...row, payload: { ...row.payload, amount: 25.5 } })).toThrow();
  });

  it("names why a consumed value is poison: no envelope, an unknown type, or data that does not fit", () => {
    expect(parseEvent("hello")).toMatchObject({ ok: false, error: expect.stringContaining("not a CloudEvent") });
    const event = toCloudEvent(row);
    expect(parseEvent({ ...event, type: "Nope" })).toMatchObject({
      ok: false,
      id: row.id,
      error: "unknown event type Nope",
    });
    expect(parseEvent({ ...event, data: { transferId: 1 } })).toMatchObject({
      ok: false,
      id: row.id,
      error: expect.stringContaining("TransferCompleted data"),
    });
  });

  it("narrows a parsed event to the types a handler takes, its data typed by the catalog", () => {
    const event = toCloudEvent(row);
    expect(isEventOf(event, "TransferCompleted", "TransferFailed")).toBe(true);
    expect(isEventOf(event, "PaymentCompleted")).toBe(false);
    const completed = expectEvent(event, "TransferCompleted");
    // Typed by the catalog: a misspelt field would not compile.
    const amount: string = completed.data.amount;
    expect(amount).toBe("2550");
    expect(() => expectEvent(event, "OrderCreated", "OrderCancelled")).toThrow(
      "expected OrderCreated or OrderCancelled, got TransferCompleted",
    );
  });

  it("docs/events.md is the catalog as generated (npm run docs:events)", () => {
    const page = readFileSync(new URL("../../../docs/events.md", import.meta.url), "utf8");
    expect(page).toBe(eventsMarkdown());
  });
});
