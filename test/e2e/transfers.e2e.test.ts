import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseEvent } from "@edgebank/events";
import { newId, newUuidV7 } from "@edgebank/ids";
import { KafkaRestClient } from "@edgebank/kafka";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flattenTrace, type TreeSpan } from "../../dev/otel-collector/tree.ts";
import { verifyWebhook } from "../../workers/notifications/src/webhooks/signature.ts";
import { describeConsole } from "./console.ts";
import { type ApiInit, type DevStack, gatewayRequest, session, startDevStack, statementLinesOf } from "./dev-stack.ts";

/**
 * Transfers through the gateway against the real services (accounts and their AccountDOs,
 * the ledger, auth), as `npm run dev` runs them: the saga's happy path, its business failures
 * with the hold released, the Idempotency-Key's durable semantics, and crashes at every step.
 * Against a PostgreSQL server (DATABASE_URL, else the local one): the embedded PGlite is one
 * session shared by every connection, and sagas running beside requests interleave there.
 */
const SERVER = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
let stack: DevStack;
let url = "";
let operator = "";
let alice = "";
let bob = "";
let auditor = "";

beforeAll(async () => {
  stack = await startDevStack("e2e-transfers", { DATABASE_URL: SERVER, EDGEBANK_TEST_FAULTS: "true" });
  url = stack.url;
  operator = await session(url, stack.operator.email, stack.operator.password, "192.0.2.20");
  alice = await session(url, `alice.${Date.now()}@example.test`, "alice's long passphrase", "192.0.2.21");
  bob = await session(url, `bob.${Date.now()}@example.test`, "bob's long passphrase", "192.0.2.22");
  auditor = await session(url, stack.auditor.email, stack.auditor.password, "192.0.2.23");
}, 150_000);

afterAll(() => stack.kill(), 30_000);

const api = (path: string, token: string, init: ApiInit = {}) => gatewayRequest(url, path, token, init);

async function openAccount(token: string, currency = "EUR"): Promise<string> {
  const response = await api("/v1/accounts", token, {
    method: "POST",
    key: crypto.randomUUID(),
    body: JSON.stringify({ currency }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function deposit(accountId: string, amount: string, currency = "EUR"): Promise<Response> {
  return api("/v1/transfers/deposits", operator, {
    method: "POST",
    key: crypto.randomUUID(),
    body: JSON.stringify({ accountId, amount, currency, description: "cash in" }),
  });
}

async function balance(token: string, accountId: string) {
  const response = await api(`/v1/accounts/${accountId}/balance`, token);
  expect(response.status).toBe(200);
  return (await response.json()) as { posted: string; pending: string; available: string };
}

function transfer(token: string, body: Record<string, string>, key: string = crypto.randomUUID()) {
  return api("/v1/transfers", token, { method: "POST", key, body: JSON.stringify(body) });
}

/** A webhook endpoint on this machine, as a merchant's server: keeps each delivery's raw body. */
async function startWebhookReceiver() {
  const received: Array<{ body: string; signature: string | undefined }> = [];
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", () => {
      received.push({ body, signature: request.headers["edgebank-signature"] as string | undefined });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Notification = { id: string; type: string; title: string; readAt: string | null; data: { transferId?: string } };

async function notificationsAbout(token: string, transferId: string): Promise<Notification[]> {
  const response = await api("/v1/notifications?limit=100", token);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Notification[] }).items.filter((n) => n.data.transferId === transferId);
}

async function waitForNotification(token: string, transferId: string): Promise<Notification> {
  for (let i = 0; i < 100; i++) {
    const [found] = await notificationsAbout(token, transferId);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no notification about ${transferId}`);
}

describeConsole(() => ({
  stack,
  databaseUrl: (service) => new URL(`/edgebank_e2e_transfers_${service}`, SERVER).toString(),
}));

describe("transfers through the gateway", () => {
  it("moves money between two customers, and records it once in the ledger", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    const funded = await deposit(from, "10000");
    expect(funded.status).toBe(201);
    expect(await funded.json()).toMatchObject({ kind: "deposit", status: "COMPLETED", toAccountId: from });

    const response = await transfer(alice, {
      fromAccountId: from,
      toAccountId: to,
      amount: "2550",
      currency: "EUR",
      description: "dinner",
    });
    expect(response.status).toBe(201);
    const done = (await response.json()) as { id: string; status: string };
    expect(done.status).toBe("COMPLETED");
    expect(await balance(alice, from)).toMatchObject({ posted: "7450", pending: "0", available: "7450" });
    expect(await balance(bob, to)).toMatchObject({ posted: "2550", available: "2550" });

    const read = await api(`/v1/transfers/${done.id}`, alice);
    expect(await read.json()).toMatchObject({ id: done.id, status: "COMPLETED", amount: "2550" });
    expect((await api(`/v1/transfers/${done.id}`, bob)).status).toBe(404);
  }, 60_000);

  it("publishes TransferCompleted to Kafka right after the transfer, once, keyed by the transfer", async () => {
    const kafka = new KafkaRestClient({ url: stack.kafkaRestUrl, produceApi: "v2" });
    const consumer = await kafka.createConsumer(`e2e-${crypto.randomUUID()}`, { reset: "latest" });
    await kafka.subscribe(consumer, ["edgebank.transfers"]);
    await kafka.fetchRecords(consumer, { timeoutMs: 0 }); // from here on
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    await deposit(from, "1000");
    const started = Date.now();
    const response = await transfer(alice, {
      fromAccountId: from,
      toAccountId: to,
      amount: "100",
      currency: "EUR",
      description: "evented",
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };

    const events: Array<{ key: unknown; event: Record<string, unknown> }> = [];
    let arrivedAfterMs = Number.NaN;
    while (Date.now() - started < 10_000) {
      for (const record of await kafka.fetchRecords(consumer, { timeoutMs: 500 })) {
        const parsed = parseEvent(record.value);
        if (parsed.ok && parsed.event.subject === id) events.push({ key: record.key, event: parsed.event });
      }
      if (events.length > 0 && Number.isNaN(arrivedAfterMs)) arrivedAfterMs = Date.now() - started;
      if (events.length > 0 && Date.now() - started > arrivedAfterMs + 1_500) break; // and no duplicate follows
    }
    expect(events).toHaveLength(1);
    expect(arrivedAfterMs).toBeLessThan(5_000);
    expect(events[0]).toMatchObject({
      key: id,
      event: {
        type: "TransferCompleted",
        source: "/edgebank/transfers",
        data: { transferId: id, fromAccountId: from, toAccountId: to, amount: "100", currency: "EUR" },
      },
    });
    await kafka.deleteConsumer(consumer);
  }, 30_000);

  it("tells the payer once, in the inbox and by a signed webhook, even when the relay published it twice", async () => {
    const receiver = await startWebhookReceiver();
    try {
      const registered = await api("/v1/webhooks", alice, {
        method: "POST",
        body: JSON.stringify({ url: receiver.url, events: ["TransferCompleted"] }),
      });
      expect(registered.status).toBe(201);
      const { secret } = (await registered.json()) as { secret: string };
      const from = await openAccount(alice);
      const to = await openAccount(bob);
      await deposit(from, "1000");

      const started = Date.now();
      const first = await transfer(alice, {
        fromAccountId: from,
        toAccountId: to,
        amount: "120",
        currency: "EUR",
        description: "notified",
      });
      expect(first.status).toBe(201);
      const { id } = (await first.json()) as { id: string };
      const notified = await waitForNotification(alice, id);
      // Commit to inbox: the relay right after the saga, the consumer's long poll, one commit.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(notified).toMatchObject({ type: "TransferCompleted", title: "Transfer completed", readAt: null });

      // The relay "crashed" after publishing, before marking: the row is pending again, and the
      // next transfer's relay publishes it a second time.
      const sql = postgres(new URL("/edgebank_e2e_transfers_transfers", SERVER).toString(), { max: 1 });
      try {
        const reset = await sql`update transfers.outbox set published_at = null
                                 where aggregate_id = ${id} and type = 'TransferCompleted' returning id`;
        expect(reset).toHaveLength(1);
      } finally {
        await sql.end();
      }
      const second = await transfer(alice, {
        fromAccountId: from,
        toAccountId: to,
        amount: "30",
        currency: "EUR",
        description: "after the crash",
      });
      const { id: secondId } = (await second.json()) as { id: string };
      await waitForNotification(alice, secondId);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await notificationsAbout(alice, id)).toHaveLength(1);

      // The webhook: one delivery per event, signed; the receiver verifies it, and would refuse it tampered.
      for (let i = 0; i < 50 && receiver.received.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      const aboutFirst = receiver.received.filter((d) => (JSON.parse(d.body) as { subject: string }).subject === id);
      expect(aboutFirst).toHaveLength(1);
      const [delivery] = aboutFirst;
      if (!delivery) throw new Error("no delivery");
      expect(await verifyWebhook(secret, delivery.signature, delivery.body)).toBe(true);
      expect(await verifyWebhook(secret, delivery.signature, delivery.body.replace('"120"', '"12000"'))).toBe(false);
      expect(JSON.parse(delivery.body)).toMatchObject({ type: "TransferCompleted", data: { transferId: id } });
    } finally {
      await receiver.close();
    }
  }, 60_000);

  it("fails on insufficient funds with nothing moved and nothing held", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    await deposit(from, "100");
    const response = await transfer(alice, {
      fromAccountId: from,
      toAccountId: to,
      amount: "101",
      currency: "EUR",
      description: "too much",
    });
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ reason: "insufficient_funds" });
    expect(await balance(alice, from)).toMatchObject({ posted: "100", pending: "0" });
    expect(await balance(bob, to)).toMatchObject({ posted: "0" });
  }, 60_000);

  it("compensates when the destination is frozen or closed: the hold is released", async () => {
    const from = await openAccount(alice);
    await deposit(from, "1000");
    const frozen = await openAccount(bob);
    const closed = await openAccount(bob);
    const act = (id: string, action: string) =>
      api(`/v1/accounts/${id}/${action}`, operator, { method: "POST", key: crypto.randomUUID() });
    expect((await act(frozen, "freeze")).status).toBe(200);
    expect((await act(closed, "close")).status).toBe(200);

    for (const [to, reason] of [
      [frozen, "account_frozen"],
      [closed, "account_closed"],
    ] as const) {
      const response = await transfer(alice, {
        fromAccountId: from,
        toAccountId: to,
        amount: "300",
        currency: "EUR",
        description: "to a blocked account",
      });
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ reason });
    }
    expect(await balance(alice, from)).toMatchObject({ posted: "1000", pending: "0", available: "1000" });
    // Deposits still reach a frozen account: money may always come in.
    expect((await deposit(frozen, "5")).status).toBe(201);
  }, 60_000);

  it("refuses a currency mismatch, and a stranger's source account", async () => {
    const eur = await openAccount(alice, "EUR");
    const usd = await openAccount(bob, "USD");
    await deposit(eur, "500");
    const mismatch = await transfer(alice, {
      fromAccountId: eur,
      toAccountId: usd,
      amount: "100",
      currency: "EUR",
      description: "wrong currency",
    });
    expect(mismatch.status).toBe(422);
    expect(await mismatch.json()).toMatchObject({ reason: "currency_mismatch" });
    expect(await balance(alice, eur)).toMatchObject({ posted: "500", pending: "0" });

    const theft = await transfer(bob, {
      fromAccountId: eur,
      toAccountId: usd,
      amount: "100",
      currency: "EUR",
      description: "not mine",
    });
    expect(theft.status).toBe(404);
  }, 60_000);

  it("one transfer for one Idempotency-Key, however often it is sent; another body with it is a 422", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    await deposit(from, "1000");
    const body = { fromAccountId: from, toAccountId: to, amount: "10", currency: "EUR", description: "once" };
    const key = `once-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 50 }, () => transfer(alice, body, key)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(
      statuses.filter((s) => s !== 201 && s !== 409),
      JSON.stringify(statuses),
    ).toEqual([]);
    const ids = new Set(
      (await Promise.all(answers.filter((r) => r.status === 201).map((r) => r.json()))).map(
        (b) => (b as { id: string }).id,
      ),
    );
    expect(ids.size).toBe(1);

    const replay = await transfer(alice, body, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await balance(alice, from)).toMatchObject({ posted: "990" });
    expect(await balance(bob, to)).toMatchObject({ posted: "10" });

    const other = await transfer(alice, { ...body, amount: "11" }, key);
    expect(other.status).toBe(422);
  }, 90_000);

  it("a refusal is the key's answer, stored by the saga's settlement: a repeat gets the same document", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    const body = { fromAccountId: from, toAccountId: to, amount: "10", currency: "EUR", description: "no funds" };
    const key = `refused-${Date.now()}`;
    const first = await transfer(alice, body, key);
    expect(first.status).toBe(422);
    expect(first.headers.get("content-type")).toContain("application/problem+json");
    const document = await first.json();
    expect(document).toMatchObject({ reason: "insufficient_funds", instance: "/v1/transfers" });
    const repeat = await transfer(alice, body, key);
    expect(repeat.status).toBe(422);
    expect(repeat.headers.get("idempotent-replayed")).toBe("true");
    expect(await repeat.json()).toEqual(document);
  });

  it("every completed transfer has exactly one ledger entry, failed ones none, and the chain verifies", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    const funding = await deposit(from, "100");
    expect(funding.status).toBe(201);
    const completed = [
      (await funding.json()) as { id: string; amount: string; fromAccountId: string; toAccountId: string },
    ];
    const failed: string[] = [];
    for (const amount of ["30", "20", "500", "10"]) {
      const response = await transfer(alice, {
        fromAccountId: from,
        toAccountId: to,
        amount,
        currency: "EUR",
        description: `ledger check ${amount}`,
      });
      const body = (await response.json()) as { id?: string; transferId?: string; amount: string };
      if (response.status === 201) completed.push(body as (typeof completed)[number]);
      else {
        expect(response.status).toBe(422); // 500 is more than the source holds
        failed.push(body.transferId ?? "");
      }
    }
    expect([completed.length, failed.length]).toEqual([4, 1]);
    for (const t of completed) {
      const entry = await api(`/v1/ledger/entries/by-transfer/${t.id}`, auditor);
      expect(entry.status).toBe(200);
      expect(await entry.json()).toMatchObject({
        transferId: t.id,
        postings: [
          { accountId: t.fromAccountId, amount: `-${t.amount}` },
          { accountId: t.toAccountId, amount: t.amount },
        ],
      });
    }
    for (const id of failed) expect((await api(`/v1/ledger/entries/by-transfer/${id}`, auditor)).status).toBe(404);
    const verification = (await (await api("/v1/ledger/verify", auditor)).json()) as {
      valid: boolean;
      entries: number;
    };
    expect(verification.valid).toBe(true);
    expect(verification.entries).toBeGreaterThanOrEqual(completed.length);
  }, 60_000);
});

describe("tracing", () => {
  /** The trace in the stack's collector once `done` holds for its spans (spans arrive as each part ends). */
  async function traceOf(traceId: string, done: (spans: TreeSpan[]) => boolean): Promise<TreeSpan[]> {
    let spans: TreeSpan[] = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      const response = await fetch(`${stack.collectorUrl}/traces/${traceId}`);
      if (response.ok) spans = flattenTrace((await response.json()) as Parameters<typeof flattenTrace>[0]);
      if (done(spans)) return spans;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return spans;
  }

  it("follows one transfer from the gateway through the saga, accounts, the ledger, the outbox and Kafka to its consumer", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    await deposit(from, "1000");
    // A relay run serves every settlement that poked it while it gathered (100 ms) and shows in
    // the trace of the first: let the deposit's run go by, so this transfer's poke starts its own.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const response = await transfer(alice, {
      fromAccountId: from,
      toAccountId: to,
      amount: "100",
      currency: "EUR",
      description: "traced",
    });
    expect(response.status).toBe(201);
    const traceId = response.headers.get("x-trace-id") ?? "";
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    const has = (spans: TreeSpan[], service: string, name: RegExp, kind?: number) =>
      spans.some((s) => s.service === service && name.test(s.name) && (kind === undefined || s.kind === kind));
    const expected: Array<[string, RegExp, number?]> = [
      ["gateway", /^POST \/v1\/transfers/, 2],
      ["gateway", /^POST transfers$/, 3],
      ["transfers", /^POST \/v1\/transfers$/, 2],
      ["transfers", /^TransferSagaDO run$/],
      ["transfers", /^saga (hold|credit|capture|record|complete)$/],
      ["transfers", /^rpc accounts\.operate$/, 3],
      ["accounts", /^rpc AccountsRpc\.operate$/, 2],
      ["accounts", /^AccountDO (hold|credit|capture)$/],
      ["transfers", /^rpc ledger\.record$/, 3],
      ["ledger", /^rpc LedgerRpc\.record$/, 2],
      ["ledger", /^INSERT ledger\.entries$/, 3],
      ["transfers", /^outbox relay transfers$/],
      ["transfers", /^publish edgebank\.transfers$/, 4],
      ["notifications", /^consume TransferCompleted$/, 5],
    ];
    const spans = await traceOf(traceId, (all) =>
      expected.every(([service, name, kind]) => has(all, service, name, kind)),
    );
    for (const [service, name, kind] of expected) {
      expect(
        has(spans, service, name, kind),
        `${service}: ${name} in ${JSON.stringify(spans.map((s) => `${s.service}: ${s.name}`))}`,
      ).toBe(true);
    }

    // One tree: a single root (the gateway's request), every other span's parent in the trace,
    // no child starting before its parent; a service's request ends before the call that made it.
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const roots = spans.filter((span) => !span.parentSpanId || !byId.has(span.parentSpanId));
    expect(roots.map((span) => `${span.service}: ${span.name}`)).toEqual(["gateway: POST /v1/transfers/*"]);
    for (const span of spans) {
      const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      if (!parent) continue;
      expect(span.startMs, `${span.name} starts after ${parent.name}`).toBeGreaterThanOrEqual(parent.startMs);
      if (span.kind === 2 && parent.kind === 3) {
        expect(span.endMs, `${span.name} ends within ${parent.name}`).toBeLessThanOrEqual(parent.endMs);
      }
    }
    const saga = spans.find((span) => span.name === "TransferSagaDO run");
    const hold = spans.find((span) => span.name === "AccountDO hold");
    expect(saga && hold && hold.startMs >= saga.startMs && hold.endMs <= saga.endMs).toBe(true);
  }, 60_000);
});

describe("error reporting", () => {
  type Reported = {
    tags?: Record<string, string>;
    release?: string;
    exception?: { values?: Array<{ value?: string }> };
  };
  const reportedFor = async (traceId: string): Promise<Reported[]> => {
    const { events } = (await (await fetch(`${stack.sentryUrl}/events`)).json()) as { events: Reported[] };
    return events.filter((event) => event.tags?.trace_id === traceId);
  };
  /** The events tagged with the trace, once they stop arriving (and at least one, unless none is expected). */
  async function settledReports(traceId: string, expectSome: boolean): Promise<Reported[]> {
    let seen: Reported[] = [];
    for (const deadline = Date.now() + (expectSome ? 20_000 : 3_000); Date.now() < deadline; ) {
      seen = await reportedFor(traceId);
      if (expectSome && seen.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // a duplicate would arrive by now
    return reportedFor(traceId);
  }
  const body = (from: string, to: string, amount: string) =>
    JSON.stringify({ fromAccountId: from, toAccountId: to, amount, currency: "EUR", description: "reported" });

  it("an unexpected exception in a route reaches the Sentry sink once, tagged with its trace id", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    const response = await api("/v1/transfers", alice, {
      method: "POST",
      key: crypto.randomUUID(),
      headers: { "x-test-crash-at": "route:throw" },
      body: body(from, to, "10"),
    });
    expect(response.status).toBe(500);
    const problem = (await response.json()) as { detail: string; requestId: string };
    expect(problem.detail).not.toContain("Injected"); // nothing of the error leaves the worker
    const traceId = response.headers.get("x-trace-id") ?? "";
    const reports = await settledReports(traceId, true);
    expect(reports).toHaveLength(1);
    expect(reports[0]?.exception?.values?.[0]?.value).toContain("Injected failure in the route");
    expect(reports[0]?.tags).toMatchObject({ service: "transfers", trace_id: traceId, request_id: problem.requestId });
    expect(reports[0]?.release).toBeTruthy();
  }, 60_000);

  it("an unexpected exception in a Durable Object alarm reaches it once; the saga still completes", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    await deposit(from, "1000");
    const response = await api("/v1/transfers", alice, {
      method: "POST",
      key: crypto.randomUUID(),
      headers: { "x-test-crash-at": "capture:throw" },
      body: body(from, to, "100"),
    });
    expect([201, 202]).toContain(response.status);
    const { id } = (await response.json()) as { id: string };
    const traceId = response.headers.get("x-trace-id") ?? "";
    const reports = await settledReports(traceId, true);
    expect(reports).toHaveLength(1);
    expect(reports[0]?.exception?.values?.[0]?.value).toContain("Injected failure before capture");
    for (let attempt = 0; attempt < 100; attempt++) {
      const transfer = (await (await api(`/v1/transfers/${id}`, alice)).json()) as { status: string };
      if (transfer.status !== "PENDING") break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await balance(bob, to)).toMatchObject({ posted: "100" });
  }, 60_000);

  it("a 422 refusal is an answer, not an error: nothing is reported", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    const response = await transfer(alice, JSON.parse(body(from, to, "999999")) as Record<string, string>);
    expect(response.status).toBe(422);
    expect(await settledReports(response.headers.get("x-trace-id") ?? "", false)).toEqual([]);
  }, 30_000);
});

describe("the outbox sweeper", () => {
  it("publishes an event left in the outbox by its Cron Trigger alone, with no request to relay it", async () => {
    const kafka = new KafkaRestClient({ url: stack.kafkaRestUrl, produceApi: "v2" });
    const consumer = await kafka.createConsumer(`e2e-sweeper-${crypto.randomUUID()}`, { reset: "latest" });
    await kafka.subscribe(consumer, ["edgebank.transfers"]);
    await kafka.fetchRecords(consumer, { timeoutMs: 0 }); // from here on
    // An event whose relay after commit never ran (the Worker was evicted after its commit):
    // a saga needing attention, which no consumer acts on.
    const eventId = newUuidV7();
    const transferId = newId("transfer");
    const sql = postgres(new URL("/edgebank_e2e_transfers_transfers", SERVER).toString(), { max: 1 });
    try {
      await sql`insert into transfers.outbox (id, aggregate_id, type, payload)
        values (${eventId}, ${transferId}, 'TransferNeedsAttention', ${sql.json({
          transferId,
          fromAccountId: newId("account"),
          toAccountId: newId("account"),
          amount: "1",
          currency: "EUR",
          status: "NEEDS_ATTENTION",
          reason: "left in the outbox by an e2e test",
        })})`;
      // The stack fires the transfers Worker's "* * * * *" trigger at the next minute.
      let delivered: Record<string, unknown> | undefined;
      for (const deadline = Date.now() + 80_000; !delivered && Date.now() < deadline; ) {
        for (const record of await kafka.fetchRecords(consumer, { timeoutMs: 1_000 })) {
          const parsed = parseEvent(record.value);
          if (parsed.ok && parsed.event.id === eventId) delivered = { key: record.key, ...parsed.event };
        }
      }
      expect(delivered).toMatchObject({ key: transferId, type: "TransferNeedsAttention", subject: transferId });
      // Marked sent once the broker acknowledged, in the relay's transaction (which may commit
      // just after a consumer read the record).
      const published = async () =>
        (
          await sql<{ published: boolean }[]>`
            select published_at is not null as published from transfers.outbox where id = ${eventId}`
        )[0]?.published;
      for (let attempt = 0; attempt < 50 && !(await published()); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(await published()).toBe(true);
    } finally {
      await sql.end();
      await kafka.deleteConsumer(consumer);
    }
  }, 100_000);
});

describe("a saga that crashes at a step boundary", () => {
  async function settled(id: string, token: string): Promise<{ status: string; failureReason?: string }> {
    for (let attempt = 0; attempt < 150; attempt++) {
      const body = (await (await api(`/v1/transfers/${id}`, token)).json()) as { status: string };
      if (body.status !== "PENDING") return body;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`transfer ${id} still pending`);
  }

  const linesOf = (token: string, accountId: string, transferId: string) =>
    statementLinesOf(stack.url, token, accountId, transferId);

  async function crashingTransfer(point: string, to: string, from: string) {
    const response = await api("/v1/transfers", alice, {
      method: "POST",
      key: crypto.randomUUID(),
      headers: { "x-test-crash-at": point },
      body: JSON.stringify({
        fromAccountId: from,
        toAccountId: to,
        amount: "100",
        currency: "EUR",
        description: point,
      }),
    });
    // The crash cuts the request's wait for the outcome short: it answers 202 and the saga goes
    // on. After the last step the outcome is already in the database, and the answer is final.
    const final = { "complete:after": 201, "fail:after": 422 }[point] ?? 202;
    expect(response.status).toBe(final);
    const { id, transferId } = (await response.json()) as { id?: string; transferId?: string };
    return id ?? transferId ?? "";
  }

  const forward = ["hold", "credit", "capture", "record", "complete"].flatMap((step) => [
    `${step}:before`,
    `${step}:after`,
  ]);
  it.each(forward)(
    "completes exactly once after a crash at %s",
    async (point) => {
      const from = await openAccount(alice);
      const to = await openAccount(bob);
      await deposit(from, "1000");
      const id = await crashingTransfer(point, to, from);
      expect(await settled(id, alice)).toMatchObject({ status: "COMPLETED" });
      expect(await balance(alice, from)).toMatchObject({ posted: "900", pending: "0", available: "900" });
      expect(await balance(bob, to)).toMatchObject({ posted: "100" });
      expect(await linesOf(alice, from, id)).toEqual([`${id}:capture`, `${id}:hold`]);
      expect(await linesOf(bob, to, id)).toEqual([`${id}:credit`]);
      const entry = await api(`/v1/ledger/entries/by-transfer/${id}`, auditor);
      expect(entry.status).toBe(200);
    },
    60_000,
  );

  it("a retry after a non-final first answer gets the real outcome, replayed, once the saga settled", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    await deposit(from, "1000");
    const key = crypto.randomUUID();
    const body = { fromAccountId: from, toAccountId: to, amount: "100", currency: "EUR", description: "retried" };
    const first = await api("/v1/transfers", alice, {
      method: "POST",
      key,
      headers: { "x-test-crash-at": "record:before" },
      body: JSON.stringify(body),
    });
    expect(first.status).toBe(202); // the crash cut the wait short: not the key's answer
    const { id } = (await first.json()) as { id: string };
    // Until the saga settles a retry is told to wait, never given a stale answer to keep.
    let retry = await transfer(alice, body, key);
    for (let attempt = 0; retry.status !== 201 && attempt < 100; attempt++) {
      expect([202, 409]).toContain(retry.status);
      if (retry.status === 409) expect(((await retry.json()) as { code: string }).code).toBe("idempotency_in_progress");
      await new Promise((resolve) => setTimeout(resolve, 200));
      retry = await transfer(alice, body, key);
    }
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await retry.json()).toMatchObject({ id, status: "COMPLETED" });
    const again = await transfer(alice, body, key);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await balance(alice, from)).toMatchObject({ posted: "900", pending: "0" });
    expect(await balance(bob, to)).toMatchObject({ posted: "100" });
  }, 60_000);

  it("an operator resumes a saga that needed attention; the action is recorded with who did it", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    await deposit(from, "1000");
    const response = await api("/v1/transfers", alice, {
      method: "POST",
      key: crypto.randomUUID(),
      headers: { "x-test-refuse-at": "record" },
      body: JSON.stringify({
        fromAccountId: from,
        toAccountId: to,
        amount: "100",
        currency: "EUR",
        description: "stuck",
      }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(await settled(id, alice)).toMatchObject({
      status: "NEEDS_ATTENTION",
      failureReason: "record_refused: injected",
    });
    const waiting = (await (await api("/v1/transfers?status=NEEDS_ATTENTION", operator)).json()) as {
      items: Array<{ id: string }>;
    };
    expect(waiting.items.map((t) => t.id)).toContain(id);
    expect((await api(`/v1/ledger/entries/by-transfer/${id}`, auditor)).status).toBe(404);

    expect((await api(`/v1/transfers/${id}/retry`, alice, { method: "POST" })).status).toBe(403);
    const retried = await api(`/v1/transfers/${id}/retry`, operator, { method: "POST" });
    expect(retried.status).toBe(200);
    expect(await settled(id, alice)).toMatchObject({ status: "COMPLETED" });
    expect((await api(`/v1/ledger/entries/by-transfer/${id}`, auditor)).status).toBe(200);
    expect(await balance(alice, from)).toMatchObject({ posted: "900", pending: "0" });
    expect(await balance(bob, to)).toMatchObject({ posted: "100" });
    expect((await api(`/v1/transfers/${id}/retry`, operator, { method: "POST" })).status).toBe(409);

    const me = (await (await api("/v1/auth/userinfo", operator)).json()) as { sub: string };
    const sql = postgres(new URL(`/edgebank_e2e_transfers_transfers`, SERVER).toString(), { max: 1 });
    try {
      const actions = await sql<{ actor: string; action: string }[]>`
        select actor, action from transfers.transfer_actions where transfer_id = ${id}`;
      expect(actions).toEqual([{ actor: me.sub, action: "retry" }]);
    } finally {
      await sql.end();
    }
  }, 60_000);

  /** A transfer of 100 from alice to bob whose saga stops in NEEDS_ATTENTION at `step`. */
  async function stuckTransfer(from: string, to: string, step: "capture" | "record", crashAt?: string) {
    const response = await api("/v1/transfers", alice, {
      method: "POST",
      key: crypto.randomUUID(),
      headers: { "x-test-refuse-at": step, ...(crashAt ? { "x-test-crash-at": crashAt } : {}) },
      body: JSON.stringify({
        fromAccountId: from,
        toAccountId: to,
        amount: "100",
        currency: "EUR",
        description: "stuck",
      }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(await settled(id, alice)).toMatchObject({
      status: "NEEDS_ATTENTION",
      failureReason: `${step}_refused: injected`,
    });
    return id;
  }

  const compensate = (id: string, token = operator) => api(`/v1/transfers/${id}/compensate`, token, { method: "POST" });

  it("an operator compensates a saga stuck after the capture: credit taken back, capture given back", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    await deposit(from, "1000");
    const id = await stuckTransfer(from, to, "record");
    expect(await balance(bob, to)).toMatchObject({ posted: "100" });

    expect((await compensate(id, alice)).status).toBe(403);
    const response = await compensate(id);
    expect(response.status).toBe(200);
    expect(await settled(id, alice)).toMatchObject({ status: "FAILED", failureReason: "compensated_by_operator" });
    expect(await balance(alice, from)).toMatchObject({ posted: "1000", pending: "0", available: "1000" });
    expect(await balance(bob, to)).toMatchObject({ posted: "0", available: "0" });
    expect(await linesOf(alice, from, id)).toEqual([`${id}:capture`, `${id}:hold`, `${id}:return-capture`]);
    expect(await linesOf(bob, to, id)).toEqual([`${id}:credit`, `${id}:reverse-credit`]);
    expect((await api(`/v1/ledger/entries/by-transfer/${id}`, auditor)).status).toBe(404);
    // Once FAILED, neither compensated again nor retried.
    expect((await compensate(id)).status).toBe(409);
    expect((await api(`/v1/transfers/${id}/retry`, operator, { method: "POST" })).status).toBe(409);

    const me = (await (await api("/v1/auth/userinfo", operator)).json()) as { sub: string };
    const sql = postgres(new URL("/edgebank_e2e_transfers_transfers", SERVER).toString(), { max: 1 });
    try {
      const actions = await sql<{ actor: string; action: string }[]>`
        select actor, action from transfers.transfer_actions where transfer_id = ${id}`;
      expect(actions).toEqual([{ actor: me.sub, action: "compensate" }]);
    } finally {
      await sql.end();
    }
  }, 60_000);

  it("compensating a saga stuck before the capture releases the hold, and survives a crash mid-way", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    await deposit(from, "1000");
    const id = await stuckTransfer(from, to, "capture", "reverse_credit:after");
    expect(await balance(alice, from)).toMatchObject({ posted: "1000", pending: "100", available: "900" });

    expect((await compensate(id)).status).toBe(200);
    expect(await settled(id, alice)).toMatchObject({ status: "FAILED", failureReason: "compensated_by_operator" });
    expect(await balance(alice, from)).toMatchObject({ posted: "1000", pending: "0", available: "1000" });
    expect(await balance(bob, to)).toMatchObject({ posted: "0" });
    expect(await linesOf(alice, from, id)).toEqual([`${id}:hold`, `${id}:release`]);
    expect(await linesOf(bob, to, id)).toEqual([`${id}:credit`, `${id}:reverse-credit`]);
  }, 60_000);

  it("when the destination already spent the money, compensation waits for a person, then finishes", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    const elsewhere = await openAccount(bob);
    await deposit(from, "1000");
    const id = await stuckTransfer(from, to, "record");
    // Bob moves the 100 on before anyone looks.
    const spent = await transfer(bob, {
      fromAccountId: to,
      toAccountId: elsewhere,
      amount: "100",
      currency: "EUR",
      description: "spent",
    });
    expect(spent.status).toBe(201);

    expect((await compensate(id)).status).toBe(200);
    expect(await settled(id, alice)).toMatchObject({
      status: "NEEDS_ATTENTION",
      failureReason: "reversal_refused: insufficient_funds",
    });
    // Nothing was given back to alice while bob's side could not be taken back.
    expect(await balance(alice, from)).toMatchObject({ posted: "900", pending: "0" });

    await deposit(to, "100"); // the bank recovers the money from bob
    expect((await compensate(id)).status).toBe(200);
    expect(await settled(id, alice)).toMatchObject({ status: "FAILED", failureReason: "compensated_by_operator" });
    expect(await balance(alice, from)).toMatchObject({ posted: "1000", pending: "0" });
    expect(await balance(bob, to)).toMatchObject({ posted: "0" });
  }, 60_000);

  it("a completed transfer is in the ledger and cannot be compensated", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    await deposit(from, "1000");
    const done = await transfer(alice, {
      fromAccountId: from,
      toAccountId: to,
      amount: "5",
      currency: "EUR",
      description: "done",
    });
    expect(done.status).toBe(201);
    const { id } = (await done.json()) as { id: string };
    const refused = await compensate(id);
    expect(refused.status).toBe(409);
    expect(await balance(bob, to)).toMatchObject({ posted: "5" });
    expect((await compensate(newId("transfer"))).status).toBe(404);
  }, 30_000);

  const compensation = ["release", "fail"].flatMap((step) => [`${step}:before`, `${step}:after`]);
  it.each(compensation)(
    "fails cleanly, hold released, after a crash at %s",
    async (point) => {
      const from = await openAccount(alice);
      const to = await openAccount(bob);
      await deposit(from, "1000");
      expect(
        (await api(`/v1/accounts/${to}/freeze`, operator, { method: "POST", key: crypto.randomUUID() })).status,
      ).toBe(200);
      const id = await crashingTransfer(point, to, from);
      expect(await settled(id, alice)).toMatchObject({ status: "FAILED", failureReason: "account_frozen" });
      expect(await balance(alice, from)).toMatchObject({ posted: "1000", pending: "0", available: "1000" });
      expect(await linesOf(alice, from, id)).toEqual([`${id}:hold`, `${id}:release`]);
      expect((await api(`/v1/ledger/entries/by-transfer/${id}`, auditor)).status).toBe(404);
    },
    60_000,
  );
});

describe("reconciliation of the ledger with accounts", () => {
  type Report = {
    id: string;
    trigger: string;
    actor: string | null;
    accountsChecked: number;
    mismatches: Array<Record<string, string | null>>;
  };
  const reconcile = async (token: string) => {
    const response = await api("/v1/ledger/reconciliations", token, { method: "POST" });
    expect(response.status).toBe(201);
    return (await response.json()) as Report;
  };

  it("after every saga above settled, the books agree; a balance changed behind them is reported", async () => {
    const from = await openAccount(alice);
    const to = await openAccount(bob);
    expect((await deposit(from, "5000")).status).toBe(201);
    expect(
      (
        await transfer(alice, {
          fromAccountId: from,
          toAccountId: to,
          amount: "1200",
          currency: "EUR",
          description: "rent",
        })
      ).status,
    ).toBe(201);

    const clean = await reconcile(auditor);
    expect(clean.mismatches).toEqual([]);
    expect(clean.accountsChecked).toBeGreaterThanOrEqual(3); // these two and the settlement account, at least
    expect((await api("/v1/ledger/reconciliations", alice, { method: "POST" })).status).toBe(403);
    expect((await api("/v1/ledger/reconciliations", operator, { method: "POST" })).status).toBe(403);

    // Someone with database access adds 99 to bob's posted balance: money the books never saw.
    const sql = postgres(new URL("/edgebank_e2e_transfers_accounts", SERVER).toString(), { max: 1 });
    try {
      await sql`update accounts.accounts set posted_balance = posted_balance + 99 where id = ${to}`;
      const report = await reconcile(auditor);
      expect(report.mismatches).toEqual([
        { accountId: to, currency: "EUR", accounts: "1299", ledger: "1200", difference: "99" },
      ]);
      const me = (await (await api("/v1/auth/userinfo", auditor)).json()) as { sub: string };
      const listed = (await (await api("/v1/ledger/reconciliations?limit=2", auditor)).json()) as { items: Report[] };
      expect(listed.items.map((run) => run.id)).toEqual([report.id, clean.id]);
      expect(listed.items[0]).toMatchObject({ trigger: "auditor", actor: me.sub, mismatches: report.mismatches });
    } finally {
      await sql`update accounts.accounts set posted_balance = posted_balance - 99 where id = ${to}`;
      await sql.end();
    }
    expect((await reconcile(auditor)).mismatches).toEqual([]);
  }, 90_000);
});
