import { parseEvent } from "@edgebank/events";
import { KafkaRestClient } from "@edgebank/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiInit, type DevStack, gatewayRequest, session, startDevStack, statementLinesOf } from "./dev-stack.ts";
import { startWebhookReceiver } from "./webhook-receiver.ts";

/**
 * Payments through the gateway against the real services: a customer pays a merchant, the
 * merchant refunds part then the rest, a refund beyond what is left is refused; every step is
 * an event on Kafka, a notification, a signed webhook to the merchant, and a ledger entry.
 * On DATABASE_URL when set, else on `npm run dev`'s embedded defaults (PGlite).
 */
let stack: DevStack;
let operator = "";
let payer = "";
let shop = "";
let auditor = "";

beforeAll(async () => {
  stack = await startDevStack("e2e-payments", { EDGEBANK_TEST_FAULTS: "true" });
  operator = await session(stack.url, stack.operator.email, stack.operator.password, "192.0.2.40");
  auditor = await session(stack.url, stack.auditor.email, stack.auditor.password, "192.0.2.41");
  payer = await session(stack.url, `payer.${Date.now()}@example.test`, "payer's long passphrase", "192.0.2.42");
  shop = await session(
    stack.url,
    `shop.${Date.now()}@example.test`,
    "the shop's long passphrase",
    "192.0.2.43",
    "merchant",
  );
}, 150_000);

afterAll(() => stack.kill(), 30_000);

const api = (path: string, token: string, init: ApiInit = {}) => gatewayRequest(stack.url, path, token, init);

async function post(path: string, token: string, body: unknown, key: string = crypto.randomUUID()) {
  return api(path, token, { method: "POST", key, body: JSON.stringify(body) });
}

async function openAccount(token: string): Promise<string> {
  const response = await post("/v1/accounts", token, { currency: "EUR" });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

/** A new account of `owner`'s (the payer's), with 100.00 in it (an operator's deposit). */
async function fundedPayer(owner: string = payer): Promise<string> {
  const account = await openAccount(owner);
  const funded = await post("/v1/transfers/deposits", operator, {
    accountId: account,
    amount: "10000",
    currency: "EUR",
    description: "cash in",
  });
  expect(funded.status).toBe(201);
  return account;
}

async function posted(token: string, accountId: string): Promise<string> {
  return ((await (await api(`/v1/accounts/${accountId}/balance`, token)).json()) as { posted: string }).posted;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("payments through the gateway", () => {
  it("pay, refund part, refund the rest, refuse more: balances, events, notifications, webhook, ledger", async () => {
    const kafka = new KafkaRestClient({ url: stack.kafkaRestUrl, produceApi: "v2" });
    const reader = await kafka.createConsumer(`e2e-payments-${crypto.randomUUID()}`, { reset: "latest" });
    await kafka.subscribe(reader, ["edgebank.payments", "edgebank.accounts"]);
    await kafka.fetchRecords(reader, { timeoutMs: 0 });

    // A webhook receiver for the merchant, verifying every signature over the raw body.
    const receiver = await startWebhookReceiver();
    try {
      const hook = await api("/v1/webhooks", shop, {
        method: "POST",
        body: JSON.stringify({
          url: receiver.url,
          events: ["PaymentCompleted"],
        }),
      });
      expect(hook.status).toBe(201);
      receiver.secret = ((await hook.json()) as { secret: string }).secret;

      // The merchant and the payer, funded by an operator's deposit.
      const shopAccount = await openAccount(shop);
      const registered = await post("/v1/merchants", shop, { name: "Corner Shop", accountId: shopAccount });
      expect(registered.status).toBe(201);
      const merchant = (await registered.json()) as { id: string };
      // A customer cannot register a merchant; nobody registers someone else's account.
      expect((await post("/v1/merchants", payer, { name: "Fake", accountId: shopAccount })).status).toBe(403);
      const payerAccount = await fundedPayer();

      // Pay 40.00; the same Idempotency-Key again is the same payment, not a second one.
      const body = {
        fromAccountId: payerAccount,
        merchantId: merchant.id,
        amount: "4000",
        currency: "EUR",
        reference: "order-1",
      };
      // The client's trace is continued by the gateway, the payments service and its events.
      const traceId = crypto.randomUUID().replaceAll("-", "");
      const paid = await api("/v1/payments", payer, {
        method: "POST",
        key: "pay-order-1",
        body: JSON.stringify(body),
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(paid.status).toBe(201);
      const payment = (await paid.json()) as { id: string; status: string };
      expect(payment.status).toBe("COMPLETED");
      const again = await post("/v1/payments", payer, body, "pay-order-1");
      expect(((await again.json()) as { id: string }).id).toBe(payment.id);
      expect((await post("/v1/payments", payer, { ...body, amount: "4001" }, "pay-order-1")).status).toBe(422);
      expect(await posted(payer, payerAccount)).toBe("6000");
      expect(await posted(shop, shopAccount)).toBe("4000");

      // More than the payer has: refused, nothing moved.
      const tooMuch = await post("/v1/payments", payer, { ...body, amount: "999999", reference: "order-2" });
      expect(tooMuch.status).toBe(422);
      expect(await tooMuch.json()).toMatchObject({ reason: "insufficient_funds" });
      expect(await posted(payer, payerAccount)).toBe("6000");

      // The merchant sees it; the payer cannot refund it; a stranger cannot see it.
      const listed = (await (await api("/v1/payments?as=merchant", shop)).json()) as { items: Array<{ id: string }> };
      expect(listed.items.map((p) => p.id)).toContain(payment.id);
      expect((await post(`/v1/payments/${payment.id}/refunds`, payer, { amount: "1", reason: "mine" })).status).toBe(
        403,
      );

      // Refund 15.00, then the remaining 25.00; then even 0.01 more is refused.
      const partial = await post(`/v1/payments/${payment.id}/refunds`, shop, {
        amount: "1500",
        reason: "one item back",
      });
      expect(partial.status).toBe(201);
      const partialRefund = (await partial.json()) as { id: string; status: string; amount: string };
      expect(partialRefund).toMatchObject({ status: "COMPLETED", amount: "1500" });
      const over = await post(`/v1/payments/${payment.id}/refunds`, shop, { amount: "2501", reason: "too much" });
      expect(over.status).toBe(422);
      expect(await over.json()).toMatchObject({ reason: "refund_exceeds_payment", refundable: "2500" });
      const rest = await post(`/v1/payments/${payment.id}/refunds`, shop, { amount: "2500", reason: "all back" });
      expect(rest.status).toBe(201);
      const restRefund = (await rest.json()) as { id: string };
      const overFull = await post(`/v1/payments/${payment.id}/refunds`, operator, { amount: "1", reason: "more" });
      expect(overFull.status).toBe(422);
      expect(await posted(payer, payerAccount)).toBe("10000");
      expect(await posted(shop, shopAccount)).toBe("0");
      const read = (await (await api(`/v1/payments/${payment.id}`, payer)).json()) as {
        refundedAmount: string;
        refunds: Array<{ status: string }>;
      };
      expect(read.refundedAmount).toBe("4000");
      expect(read.refunds.map((r) => r.status)).toEqual(["COMPLETED", "COMPLETED"]);

      // Events on Kafka, keyed by the payment: created, completed, two refunds (and the failed one's).
      const traces: Record<string, string | undefined> = {};
      // The merchant's account events (AccountDO), from the same consumer: the payment's credit first.
      const merchantTraces: string[] = [];
      const types = await until("the payment's events", async () => {
        const seen: string[] = [];
        for (let i = 0; i < 10; i++) {
          for (const record of await kafka.fetchRecords(reader, { timeoutMs: 300 })) {
            const parsed = parseEvent(record.value);
            if (parsed.ok && parsed.event.subject === payment.id) {
              seen.push(parsed.event.type);
              traces[parsed.event.type] = parsed.event.traceparent;
            }
            if (parsed.ok && parsed.event.subject === shopAccount && parsed.event.type === "AccountCredited") {
              merchantTraces.push(parsed.event.traceparent ?? "none");
            }
          }
          if (seen.length >= 4 && merchantTraces.length > 0) return seen;
        }
        return undefined;
      });
      expect(types).toEqual(["PaymentCreated", "PaymentCompleted", "PaymentRefunded", "PaymentRefunded"]);
      expect(traces.PaymentCreated).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      expect(traces.PaymentCompleted).toMatch(new RegExp(`^00-${traceId}-`));
      // …and so does the account event of the money it moved (payments → accounts → AccountDO).
      expect(merchantTraces[0]).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

      // Notifications: the payer (the deposit that funded the account, paid, two refunds), the
      // merchant (received); the merchant's webhook.
      const payerNotes = await until("the payer's notifications", async () => {
        const items = ((await (await api("/v1/notifications", payer)).json()) as { items: Array<{ title: string }> })
          .items;
        return items.length >= 5 ? items : undefined;
      });
      expect(payerNotes.map((n) => n.title).sort()).toEqual(
        ["Money received", "Payment completed", "Payment failed", "Refund received", "Refund received"].sort(),
      );
      const shopNotes = (await (await api("/v1/notifications", shop)).json()) as { items: Array<{ title: string }> };
      expect(shopNotes.items.map((n) => n.title)).toEqual(["Payment received"]);
      await until("the webhook", async () => (receiver.deliveries.length > 0 ? receiver.deliveries : undefined));
      expect(receiver.deliveries).toEqual([{ type: "PaymentCompleted", subject: payment.id, verified: true }]);

      // The ledger holds one entry for the payment and one per refund, balanced.
      for (const id of [payment.id, partialRefund.id, restRefund.id]) {
        const entry = await api(`/v1/ledger/entries/by-transfer/${id}`, auditor);
        expect(entry.status).toBe(200);
      }
      const verify = (await (await api("/v1/ledger/verify", auditor)).json()) as { valid: boolean };
      expect(verify.valid).toBe(true);
    } finally {
      await receiver.close();
      await kafka.deleteConsumer(reader);
    }
  }, 90_000);
});

describe("a payment and a refund that crash at a step boundary", () => {
  let merchantId = "";
  let shopAccount = "";
  // A payer and a merchant of this describe's own: the first test counts its users' notifications and webhooks.
  let payer = "";
  let shop = "";

  beforeAll(async () => {
    payer = await session(
      stack.url,
      `crash.payer.${Date.now()}@example.test`,
      "crash payer's passphrase",
      "192.0.2.44",
    );
    shop = await session(
      stack.url,
      `crash.shop.${Date.now()}@example.test`,
      "the crash shop's passphrase",
      "192.0.2.45",
      "merchant",
    );
    shopAccount = await openAccount(shop);
    const registered = await post("/v1/merchants", shop, { name: "Crash Test Shop", accountId: shopAccount });
    expect(registered.status).toBe(201);
    merchantId = ((await registered.json()) as { id: string }).id;
  }, 30_000);

  const linesOf = (token: string, accountId: string, id: string) => statementLinesOf(stack.url, token, accountId, id);

  async function balance(token: string, accountId: string) {
    return (await (await api(`/v1/accounts/${accountId}/balance`, token)).json()) as {
      posted: string;
      pending: string;
    };
  }

  /** The payment (with its refunds) once neither it nor any refund of it is still running. */
  async function settledPayment(id: string) {
    return until(
      `payment ${id} to settle`,
      async () => {
        const read = (await (await api(`/v1/payments/${id}`, payer)).json()) as {
          status: string;
          refunds: Array<{ id: string; status: string }>;
        };
        const running = read.status === "PENDING" || read.refunds.some((refund) => refund.status === "PENDING");
        return running ? undefined : read;
      },
      30_000,
    );
  }

  it("a payment the ledger refused waits for an operator: listed, not compensable after the credit, retried once", async () => {
    const from = await fundedPayer(payer);
    const response = await api("/v1/payments", payer, {
      method: "POST",
      key: crypto.randomUUID(),
      body: JSON.stringify({ fromAccountId: from, merchantId, amount: "250", currency: "EUR", reference: "stuck" }),
      headers: { "x-test-refuse-at": "record" },
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(await settledPayment(id)).toMatchObject({
      status: "NEEDS_ATTENTION",
      failureReason: "record_refused: injected",
    });
    const waiting = (await (await api("/v1/payments?status=NEEDS_ATTENTION&limit=100", operator)).json()) as {
      items: Array<{ id: string }>;
    };
    expect(waiting.items.map((item) => item.id)).toContain(id);
    // The payer sees only their own, and may not act.
    const own = (await (await api("/v1/payments?status=NEEDS_ATTENTION&limit=100", payer)).json()) as {
      items: Array<{ id: string }>;
    };
    expect(own.items.map((item) => item.id)).toContain(id);
    expect((await api(`/v1/payments/${id}/retry`, payer, { method: "POST" })).status).toBe(403);

    // The merchant has the money: undoing it is a refund's job, not a compensation.
    const compensate = await api(`/v1/payments/${id}/compensate`, operator, { method: "POST" });
    expect(compensate.status).toBe(409);
    expect(((await compensate.json()) as { detail: string }).detail).toMatch(/refund/);
    expect(((await (await api(`/v1/payments/${id}`, payer)).json()) as { status: string }).status).toBe(
      "NEEDS_ATTENTION",
    );

    const retried = await api(`/v1/payments/${id}/retry`, operator, { method: "POST" });
    expect(retried.status).toBe(200);
    expect(await settledPayment(id)).toMatchObject({ status: "COMPLETED" });
    expect((await api(`/v1/ledger/entries/by-transfer/${id}`, auditor)).status).toBe(200);
    expect(await balance(payer, from)).toMatchObject({ posted: "9750", pending: "0" });
    expect((await api(`/v1/payments/${id}/retry`, operator, { method: "POST" })).status).toBe(409);
  }, 60_000);

  it("a refund the payer's account refused after the merchant's debit waits for an operator, who retries it once", async () => {
    const from = await fundedPayer(payer);
    const paid = await post("/v1/payments", payer, {
      fromAccountId: from,
      merchantId,
      amount: "400",
      currency: "EUR",
      reference: "to refund",
    });
    expect(paid.status).toBe(201);
    const paymentId = ((await paid.json()) as { id: string }).id;
    const refunding = await api(`/v1/payments/${paymentId}/refunds`, shop, {
      method: "POST",
      key: crypto.randomUUID(),
      body: JSON.stringify({ amount: "400", reason: "returned" }),
      headers: { "x-test-refuse-at": "credit" },
    });
    expect(refunding.status).toBe(202);
    const refundId = ((await refunding.json()) as { id: string }).id;
    const stuck = await settledPayment(paymentId);
    expect(stuck.refunds).toEqual([expect.objectContaining({ id: refundId, status: "NEEDS_ATTENTION" })]);
    const waiting = (await (await api("/v1/refunds?status=NEEDS_ATTENTION", operator)).json()) as {
      items: Array<{ id: string }>;
    };
    expect(waiting.items.map((item) => item.id)).toContain(refundId);
    expect((await api("/v1/refunds", payer)).status).toBe(403);
    expect((await api(`/v1/refunds/${refundId}/retry`, shop, { method: "POST" })).status).toBe(403);

    const retried = await api(`/v1/refunds/${refundId}/retry`, operator, { method: "POST" });
    expect(retried.status).toBe(200);
    const settled = await settledPayment(paymentId);
    expect(settled.refunds).toEqual([expect.objectContaining({ id: refundId, status: "COMPLETED" })]);
    expect(await balance(payer, from)).toMatchObject({ posted: "10000", pending: "0" });
    expect((await api(`/v1/refunds/${refundId}/retry`, operator, { method: "POST" })).status).toBe(409);
  }, 60_000);

  /** The crash cuts the request's wait short (202, the flow goes on); after the last step the answer is final. */
  const expectedStatus = (point: string) => (point === "complete:after" ? 201 : 202);

  it.each(["authorize", "capture", "credit", "record", "complete"].flatMap((s) => [`${s}:before`, `${s}:after`]))(
    "a payment completes exactly once after a crash at %s",
    async (point) => {
      const from = await fundedPayer(payer);
      const key = crypto.randomUUID();
      const body = { fromAccountId: from, merchantId, amount: "100", currency: "EUR", reference: point };
      const response = await api("/v1/payments", payer, {
        method: "POST",
        key,
        body: JSON.stringify(body),
        headers: { "x-test-crash-at": point },
      });
      expect(response.status).toBe(expectedStatus(point));
      const { id } = (await response.json()) as { id: string };
      expect(await settledPayment(id)).toMatchObject({ status: "COMPLETED" });
      // The key's answer, once settled, is the real outcome.
      const again = await post("/v1/payments", payer, body, key);
      expect(again.status).toBe(201);
      expect(await balance(payer, from)).toMatchObject({ posted: "9900", pending: "0" });
      expect(await linesOf(payer, from, id)).toEqual([`${id}:authorize`, `${id}:capture`]);
      expect(await linesOf(shop, shopAccount, id)).toEqual([`${id}:credit`]);
      expect((await api(`/v1/ledger/entries/by-transfer/${id}`, auditor)).status).toBe(200);
    },
    60_000,
  );

  it.each(["debit", "credit", "record", "complete"].flatMap((s) => [`${s}:before`, `${s}:after`]))(
    "a refund completes exactly once after a crash at %s",
    async (point) => {
      const from = await fundedPayer(payer);
      const paid = await post("/v1/payments", payer, {
        fromAccountId: from,
        merchantId,
        amount: "100",
        currency: "EUR",
        reference: `refunded after ${point}`,
      });
      expect(paid.status).toBe(201);
      const payment = (await paid.json()) as { id: string };
      const refunded = await api(`/v1/payments/${payment.id}/refunds`, shop, {
        method: "POST",
        key: crypto.randomUUID(),
        body: JSON.stringify({ amount: "40", reason: point }),
        headers: { "x-test-crash-at": point },
      });
      expect(refunded.status).toBe(expectedStatus(point));
      const { id } = (await refunded.json()) as { id: string };
      const read = await settledPayment(payment.id);
      expect(read.refunds).toEqual([expect.objectContaining({ id, status: "COMPLETED" })]);
      expect(await balance(payer, from)).toMatchObject({ posted: "9940", pending: "0" });
      expect(await linesOf(shop, shopAccount, id)).toEqual([`${id}:debit`]);
      expect(await linesOf(payer, from, id)).toEqual([`${id}:credit`]);
      expect((await api(`/v1/ledger/entries/by-transfer/${id}`, auditor)).status).toBe(200);
    },
    60_000,
  );

  it("an unknown crash point is a 400 and starts nothing", async () => {
    const from = await fundedPayer(payer);
    const response = await api("/v1/payments", payer, {
      method: "POST",
      key: crypto.randomUUID(),
      body: JSON.stringify({ fromAccountId: from, merchantId, amount: "100", currency: "EUR", reference: "bad point" }),
      headers: { "x-test-crash-at": "teleport:before" },
    });
    expect(response.status).toBe(400);
    expect(await balance(payer, from)).toMatchObject({ posted: "10000", pending: "0" });
  });
});
