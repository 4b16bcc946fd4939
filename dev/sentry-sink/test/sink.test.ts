import { createEventEnvelope, makeDsn, serializeEnvelope } from "@sentry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SentrySink, startSentrySink } from "../server.ts";

let sink: SentrySink;
beforeAll(async () => {
  sink = await startSentrySink({ project: "7", key: "publickey" });
});
afterAll(() => sink.close());

/** An envelope exactly as the Sentry SDK serialises it (@sentry/core), posted to the DSN's endpoint. */
async function send(event: Record<string, unknown>, key = "publickey") {
  const dsn = makeDsn(sink.dsn);
  if (!dsn) throw new Error("bad dsn");
  const envelope = createEventEnvelope(event, dsn, {
    sdk: { name: "sentry.javascript.cloudflare", version: "11.0.0" },
  });
  const body = serializeEnvelope(envelope);
  return fetch(`${sink.url}/api/${dsn.projectId}/envelope/`, {
    method: "POST",
    headers: {
      "x-sentry-auth": `Sentry sentry_version=7, sentry_key=${key}, sentry_client=sentry.javascript.cloudflare/11.0.0`,
    },
    body,
  });
}

describe("the development Sentry sink", () => {
  it("keeps the events of envelopes sent to the DSN's project and lists them", async () => {
    const event = {
      event_id: "0123456789abcdef0123456789abcdef",
      level: "error",
      release: "ver-1",
      environment: "development",
      tags: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", request_id: "req_1" },
      user: { id: "usr_1" },
      exception: { values: [{ type: "Error", value: "boom" }] },
    };
    expect((await send(event)).status).toBe(200);
    const { events } = (await (await fetch(`${sink.url}/events`)).json()) as { events: Array<Record<string, unknown>> };
    expect(events).toContainEqual(expect.objectContaining({ ...event, project: "7" }));
  });

  it("refuses a wrong key, and forgets on DELETE", async () => {
    expect((await send({ event_id: "f".repeat(32) }, "nope")).status).toBe(401);
    expect((await fetch(`${sink.url}/events`, { method: "DELETE" })).status).toBe(204);
    expect(sink.events).toEqual([]);
  });
});
