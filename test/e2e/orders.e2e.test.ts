import { parseEvent } from "@edgebank/events";
import { KafkaRestClient } from "@edgebank/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiInit, type DevStack, gatewayRequest, session, startDevStack } from "./dev-stack.ts";
import { startWebhookReceiver } from "./webhook-receiver.ts";

/**
 * The order choreography through the gateway and Kafka: orders, payments and inventory react to
 * each other's events, and every order ends CONFIRMED (payment captured, stock committed) or
 * CANCELLED (no hold, no capture, no reservation left).
 *
 * On DATABASE_URL when set, else on `npm run dev`'s embedded defaults (PGlite): the handlers that
 * call other services do so outside their consumer's transaction, so the one embedded session
 * is free for the services they call.
 */
let stack: DevStack;
let operator = "";
let buyer = "";
let shop = "";
let shopAccount = "";
let merchantId = "";

const api = (path: string, token: string, init: ApiInit = {}) => gatewayRequest(stack.url, path, token, init);

const post = (path: string, token: string, body: unknown, key: string = crypto.randomUUID()) =>
  api(path, token, { method: "POST", key, body: JSON.stringify(body) });

async function openAccount(token: string, funding?: string): Promise<string> {
  const opened = await post("/v1/accounts", token, { currency: "EUR" });
  expect(opened.status).toBe(201);
  const { id } = (await opened.json()) as { id: string };
  if (funding) {
    const funded = await post("/v1/transfers/deposits", operator, {
      accountId: id,
      amount: funding,
      currency: "EUR",
      description: "funding",
    });
    expect(funded.status).toBe(201);
  }
  return id;
}

async function balance(token: string, accountId: string) {
  return (await (await api(`/v1/accounts/${accountId}/balance`, token)).json()) as {
    posted: string;
    available: string;
  };
}

async function newProduct(stock: number, price = "1000"): Promise<string> {
  const sku = `E2E-${crypto.randomUUID().slice(0, 8).toUpperCase()}`;
  const created = await post("/v1/products", shop, { sku, name: "Mug", price, merchantId, stock });
  expect(created.status).toBe(201);
  return sku;
}

const available = async (sku: string) =>
  ((await (await fetch(`${stack.url}/v1/products/${sku}`)).json()) as { available: number }).available;

type Order = { id: string; status: string; reason?: string; total: string };

async function settled(id: string, ms = 30_000): Promise<Order> {
  const deadline = Date.now() + ms;
  for (;;) {
    const order = (await (await api(`/v1/orders/${id}`, buyer)).json()) as Order;
    if (order.status === "CONFIRMED" || order.status === "CANCELLED") return order;
    if (Date.now() > deadline) throw new Error(`order ${id} still ${order.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const settledOrNot = async (id: string) => (await (await api(`/v1/orders/${id}`, buyer)).json()) as Order;

interface SagaRecord {
  topic: string;
  key: unknown;
  value: unknown;
  partition: number;
  offset: number;
  type: string;
  orderId: string;
}

/** Every event of these orders on the saga's topics so far, read back with a group of its own. */
async function sagaEvents(orderIds: readonly string[]): Promise<SagaRecord[]> {
  const kafka = new KafkaRestClient({ url: stack.kafkaRestUrl, produceApi: "v2" });
  const reader = await kafka.createConsumer(`e2e-saga-${crypto.randomUUID()}`, { reset: "earliest" });
  const found: SagaRecord[] = [];
  try {
    await kafka.subscribe(reader, ["edgebank.orders", "edgebank.payments", "edgebank.inventory"]);
    for (let empty = 0; empty < 3; ) {
      const records = await kafka.fetchRecords(reader, { timeoutMs: 500 });
      if (records.length === 0) empty += 1;
      for (const record of records) {
        const parsed = parseEvent(record.value);
        if (!parsed.ok) continue;
        const orderId = (parsed.event.data as { orderId?: string }).orderId ?? parsed.event.subject;
        if (orderId && orderIds.includes(orderId)) found.push({ ...record, type: parsed.event.type, orderId });
      }
    }
  } finally {
    await kafka.deleteConsumer(reader);
  }
  return found;
}

/** Where an order's event of one type lies on its topic, once it is there. */
async function eventOf(type: string, orderId: string): Promise<SagaRecord> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const event = (await sagaEvents([orderId])).find((e) => e.type === type);
    if (event) return event;
  }
  throw new Error(`no ${type} of order ${orderId}`);
}

async function order(payerAccountId: string, sku: string, quantity: number): Promise<Order> {
  const placed = await post("/v1/orders", buyer, { payerAccountId, lines: [{ sku, quantity }] });
  expect(placed.status).toBe(202);
  return (await placed.json()) as Order;
}

beforeAll(async () => {
  stack = await startDevStack("e2e-orders");
  operator = await session(stack.url, stack.operator.email, stack.operator.password, "192.0.2.60");
  buyer = await session(stack.url, `buyer.${Date.now()}@example.test`, "the buyer's passphrase", "192.0.2.61");
  shop = await session(
    stack.url,
    `seller.${Date.now()}@example.test`,
    "the seller's passphrase",
    "192.0.2.62",
    "merchant",
  );
  shopAccount = await openAccount(shop);
  const registered = await post("/v1/merchants", shop, { name: "Mug Shop", accountId: shopAccount });
  expect(registered.status).toBe(201);
  merchantId = ((await registered.json()) as { id: string }).id;
}, 150_000);

afterAll(() => stack.kill(), 30_000);

describe("the order choreography", () => {
  it("confirms a paid order: payment captured to the merchant, stock committed, buyer told", async () => {
    // The buyer's webhook endpoint, for the ends of their orders.
    const receiver = await startWebhookReceiver();
    let hookId = "";
    try {
      const hook = await post("/v1/webhooks", buyer, {
        url: receiver.url,
        events: ["OrderConfirmed", "OrderCancelled"],
      });
      expect(hook.status).toBe(201);
      const registered = (await hook.json()) as { id: string; secret: string };
      hookId = registered.id;
      receiver.secret = registered.secret;
      const wallet = await openAccount(buyer, "10000");
      const sku = await newProduct(5, "1250");
      // The shop's account serves every test of this file: what this order pays it is the difference.
      const shopBefore = BigInt((await balance(shop, shopAccount)).posted);
      const placed = await order(wallet, sku, 2);
      expect(placed).toMatchObject({ status: "PENDING", total: "2500" });
      expect(await settled(placed.id)).toMatchObject({ status: "CONFIRMED" });
      expect(await balance(buyer, wallet)).toMatchObject({ posted: "7500", available: "7500" });
      expect(BigInt((await balance(shop, shopAccount)).posted) - shopBefore).toBe(2500n);
      expect(await available(sku)).toBe(3);
      // The buyer is told, once, in the inbox and by webhook; the merchant of the payment.
      const told = async (token: string) =>
        (
          (await (await api("/v1/notifications?limit=100", token)).json()) as {
            items: Array<{ title: string; data: { orderId?: string; reference?: string } }>;
          }
        ).items.filter((n) => n.data.orderId === placed.id || n.data.reference === `order ${placed.id}`);
      for (let i = 0; i < 50 && (await told(buyer)).length === 0; i++) await new Promise((r) => setTimeout(r, 200));
      expect((await told(buyer)).map((n) => n.title)).toEqual(["Order confirmed"]);
      expect((await told(shop)).map((n) => n.title)).toEqual(["Payment received"]);
      for (let i = 0; i < 50 && receiver.deliveries.length === 0; i++) await new Promise((r) => setTimeout(r, 200));
      expect(receiver.deliveries).toEqual([{ type: "OrderConfirmed", subject: placed.id, verified: true }]);
      // A confirmed order is no longer the buyer's to cancel.
      const late = await api(`/v1/orders/${placed.id}/cancel`, buyer, { method: "POST" });
      expect(late.status).toBe(409);
      expect(late.headers.get("content-type")).toBe("application/problem+json");
    } finally {
      // Later tests cancel orders: this endpoint hears of no more.
      if (hookId) await api(`/v1/webhooks/${hookId}`, buyer, { method: "DELETE" });
      await receiver.close();
    }
  }, 60_000);

  it("every event of a confirmed, an out-of-stock and a declined order delivered again changes nothing", async () => {
    const wallet = await openAccount(buyer, "10000");
    const poor = await openAccount(buyer, "100");
    const sku = await newProduct(4, "700");
    const confirmed = await order(wallet, sku, 1);
    const short = await order(wallet, sku, 9);
    const declined = await order(poor, sku, 1);
    expect(await settled(confirmed.id)).toMatchObject({ status: "CONFIRMED" });
    expect(await settled(short.id)).toMatchObject({ status: "CANCELLED", reason: `out_of_stock:${sku}` });
    expect(await settled(declined.id)).toMatchObject({
      status: "CANCELLED",
      reason: "payment_declined:insufficient_funds",
    });
    const state = async () => ({
      wallet: await balance(buyer, wallet),
      poor: await balance(buyer, poor),
      shop: await balance(shop, shopAccount),
      stock: await available(sku),
      orders: await Promise.all([confirmed, short, declined].map(async (o) => (await settledOrNot(o.id)).status)),
    });
    // Wait for the sagas' tails (the hold released, the stock back), then take the picture.
    let before = await state();
    for (let i = 0; i < 50 && before.wallet.available !== before.wallet.posted; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      before = await state();
    }
    expect(before).toMatchObject({ wallet: { posted: "9300", available: "9300" }, stock: 3 });
    // Read every event of the three sagas back from the topics and publish each one again, as
    // a relay that crashed before marking them would.
    const events = await sagaEvents([confirmed.id, short.id, declined.id]);
    const types = (id: string) =>
      events
        .filter((e) => e.orderId === id)
        .map((e) => e.type)
        .sort();
    expect(types(confirmed.id)).toEqual(
      [
        "OrderConfirmed",
        "OrderCreated",
        "PaymentAuthorized",
        "PaymentCaptured",
        "PaymentCreated",
        "StockReserved",
      ].sort(),
    );
    expect(types(short.id)).toEqual(
      [
        "OrderCancelled",
        "OrderCreated",
        "PaymentAuthorized",
        "PaymentCreated",
        "PaymentVoided",
        "StockRejected",
      ].sort(),
    );
    expect(types(declined.id)).toEqual(["OrderCancelled", "OrderCreated", "PaymentCreated", "PaymentDeclined"].sort());
    const kafka = new KafkaRestClient({ url: stack.kafkaRestUrl, produceApi: "v2" });
    for (const event of events) {
      await kafka.produce({ topic: event.topic, key: String(event.key), value: event.value });
    }
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(await state()).toEqual(before);
  }, 60_000);

  it("finishes an order whose next consumer was stopped mid-saga, once it is started again", async () => {
    const wallet = await openAccount(buyer, "5000");
    const sku = await newProduct(2, "900");
    expect((await api("/v1/operations/inventory/consumers/stop", buyer, { method: "POST" })).status).toBe(403);
    const stopped = await api("/v1/operations/inventory/consumers/stop", operator, { method: "POST" });
    expect(stopped.status).toBe(200);
    try {
      const placed = await order(wallet, sku, 1);
      // Payments authorized it (the hold shows); inventory, stopped, has not reserved.
      for (let i = 0; i < 100; i++) {
        const now = (await (await api(`/v1/orders/${placed.id}`, buyer)).json()) as Order;
        if (now.status === "PAYMENT_AUTHORIZED") break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(((await (await api(`/v1/orders/${placed.id}`, buyer)).json()) as Order).status).toBe("PAYMENT_AUTHORIZED");
      expect(await balance(buyer, wallet)).toMatchObject({ posted: "5000", available: "4100" });
      expect(await available(sku)).toBe(2);
      const started = await api("/v1/operations/inventory/consumers/start", operator, { method: "POST" });
      expect(started.status).toBe(200);
      expect(await settled(placed.id)).toMatchObject({ status: "CONFIRMED" });
      expect(await balance(buyer, wallet)).toMatchObject({ posted: "4100", available: "4100" });
      expect(await available(sku)).toBe(1);
    } finally {
      await api("/v1/operations/inventory/consumers/start", operator, { method: "POST" });
    }
  }, 60_000);

  it("a cancel once the payment is authorized voids it; the late reservation is released", async () => {
    const wallet = await openAccount(buyer, "5000");
    const sku = await newProduct(2, "900");
    await api("/v1/operations/inventory/consumers/stop", operator, { method: "POST" });
    try {
      const placed = await order(wallet, sku, 1);
      for (let i = 0; i < 100; i++) {
        const now = (await (await api(`/v1/orders/${placed.id}`, buyer)).json()) as Order;
        if (now.status === "PAYMENT_AUTHORIZED") break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const cancelled = await api(`/v1/orders/${placed.id}/cancel`, buyer, { method: "POST" });
      expect(await cancelled.json()).toMatchObject({ status: "CANCELLED", reason: "cancelled_by_customer" });
    } finally {
      await api("/v1/operations/inventory/consumers/start", operator, { method: "POST" });
    }
    // Inventory catches up (it may reserve, then release); payments voided the hold.
    const deadline = Date.now() + 20_000;
    let state = { balance: await balance(buyer, wallet), stock: await available(sku) };
    while (Date.now() < deadline && !(state.balance.available === "5000" && state.stock === 2)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      state = { balance: await balance(buyer, wallet), stock: await available(sku) };
    }
    expect(state).toEqual({ balance: expect.objectContaining({ posted: "5000", available: "5000" }), stock: 2 });
  }, 60_000);

  it("a cancel that raced the capture: the payment is refunded in full and the committed stock put back", async () => {
    const wallet = await openAccount(buyer, "5000");
    const sku = await newProduct(2, "900");
    const shopBefore = BigInt((await balance(shop, shopAccount)).posted);
    const consumers = (service: string, action: "stop" | "start", topic?: string) =>
      api(`/v1/operations/${service}/consumers/${action}${topic ? `?topic=${topic}` : ""}`, operator, {
        method: "POST",
      });
    const until = async <T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> => {
      for (const deadline = Date.now() + 20_000; ; ) {
        const value = await read();
        if (done(value)) return value;
        if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const paymentOf = async (orderId: string) => {
      const page = (await (await api("/v1/payments?limit=100", buyer)).json()) as {
        items: Array<{ id: string; reference: string; status: string; refundedAmount: string }>;
      };
      return page.items.find((p) => p.reference === `order ${orderId}`);
    };
    expect((await consumers("payments", "stop", "edgebank.nowhere")).status).toBe(404);
    // Payments will not see StockReserved yet: the order waits, authorized and reserved.
    expect((await consumers("payments", "stop", "edgebank.inventory")).status).toBe(200);
    try {
      const placed = await order(wallet, sku, 1);
      await until(
        "authorized",
        async () => (await settledOrNot(placed.id)).status,
        (s) => s === "PAYMENT_AUTHORIZED",
      );
      await until(
        "reserved",
        () => available(sku),
        (n) => n === 1,
      );
      // The buyer cancels; neither payments nor inventory hears of it yet.
      expect((await consumers("payments", "stop", "edgebank.orders")).status).toBe(200);
      expect((await consumers("inventory", "stop", "edgebank.orders")).status).toBe(200);
      const cancelled = await api(`/v1/orders/${placed.id}/cancel`, buyer, { method: "POST" });
      expect(await cancelled.json()).toMatchObject({ status: "CANCELLED", reason: "cancelled_by_customer" });
      // The capture goes first: the merchant is paid and inventory commits the stock.
      expect((await consumers("payments", "start", "edgebank.inventory")).status).toBe(200);
      await until(
        "captured",
        () => paymentOf(placed.id),
        (p) => p?.status === "COMPLETED",
      );
      expect(BigInt((await balance(shop, shopAccount)).posted) - shopBefore).toBe(900n);
      const captured = await eventOf("PaymentCaptured", placed.id);
      const inventoryRead = async () => {
        const { items } = (await (await api("/v1/operations/inventory/consumers", operator)).json()) as {
          items: Array<{ name: string; positions: Record<string, number> }>;
        };
        return items.find((i) => i.name === "inventory/edgebank.payments")?.positions[captured.partition] ?? -1;
      };
      await until("inventory committed", inventoryRead, (next) => next > captured.offset);
      // Now the cancel arrives: the payment is refunded in full, the committed stock comes back.
      expect((await consumers("payments", "start", "edgebank.orders")).status).toBe(200);
      expect((await consumers("inventory", "start", "edgebank.orders")).status).toBe(200);
      const refunded = await until(
        "refunded",
        () => paymentOf(placed.id),
        (p) => p?.refundedAmount === "900",
      );
      expect(refunded).toMatchObject({ status: "COMPLETED", refundedAmount: "900" });
      const end = await until(
        "money and stock back",
        async () => ({
          buyer: await balance(buyer, wallet),
          shop: BigInt((await balance(shop, shopAccount)).posted) - shopBefore,
          stock: await available(sku),
        }),
        (state) => state.buyer.available === "5000" && state.shop === 0n && state.stock === 2,
      );
      expect(end).toEqual({
        buyer: expect.objectContaining({ posted: "5000", available: "5000" }),
        shop: 0n,
        stock: 2,
      });
      expect(await settledOrNot(placed.id)).toMatchObject({ status: "CANCELLED", reason: "cancelled_by_customer" });
    } finally {
      await consumers("payments", "start");
      await consumers("inventory", "start");
    }
  }, 90_000);

  it("cancels when the payer cannot pay, or the stock is short: nothing held, nothing taken", async () => {
    const wallet = await openAccount(buyer, "2000");
    const sku = await newProduct(1, "800");
    const [poor, short] = [await order(wallet, sku, 3), await order(wallet, sku, 1)];
    // 3 × 8.00 is more than the 20.00 on the account; the second order takes the one in stock.
    expect(await settled(poor.id)).toMatchObject({
      status: "CANCELLED",
      reason: "payment_declined:insufficient_funds",
    });
    expect(await settled(short.id)).toMatchObject({ status: "CONFIRMED" });
    const none = await order(wallet, sku, 1);
    expect(await settled(none.id)).toMatchObject({ status: "CANCELLED", reason: `out_of_stock:${sku}` });
    // The out-of-stock order's hold was let go: what is available is what is posted.
    const after = await balance(buyer, wallet);
    expect(after).toMatchObject({ posted: "1200", available: "1200" });
    expect(await available(sku)).toBe(0);
  }, 60_000);

  it("a buyer's cancel before confirmation leaves no hold, no capture and no reservation", async () => {
    const wallet = await openAccount(buyer, "5000");
    const sku = await newProduct(3, "1000");
    const placed = await order(wallet, sku, 1);
    const cancelled = await api(`/v1/orders/${placed.id}/cancel`, buyer, { method: "POST" });
    expect(cancelled.status).toBe(200);
    expect(await settled(placed.id)).toMatchObject({ status: "CANCELLED", reason: "cancelled_by_customer" });
    // Whatever the events' timing, the end state holds once they all arrived.
    const deadline = Date.now() + 20_000;
    let state = { balance: await balance(buyer, wallet), stock: await available(sku) };
    while (
      Date.now() < deadline &&
      !(state.balance.posted === "5000" && state.balance.available === "5000" && state.stock === 3)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      state = { balance: await balance(buyer, wallet), stock: await available(sku) };
    }
    expect(state).toEqual({ balance: expect.objectContaining({ posted: "5000", available: "5000" }), stock: 3 });
    // The buyer is told, once.
    const told = async () =>
      (
        (await (await api("/v1/notifications?limit=100", buyer)).json()) as {
          items: Array<{ title: string; body: string; data: { orderId?: string } }>;
        }
      ).items.filter((n) => n.data.orderId === placed.id);
    for (let i = 0; i < 50 && (await told()).length === 0; i++) await new Promise((r) => setTimeout(r, 200));
    expect((await told()).map((n) => n.title)).toEqual(["Order cancelled"]);
  }, 60_000);

  it("50 concurrent orders for 10 in stock: exactly 10 confirmed, 40 cancelled, money conserved", async () => {
    const wallet = await openAccount(buyer, "100000");
    const before = BigInt((await balance(shop, shopAccount)).posted);
    const sku = await newProduct(10, "100");
    const placed = await Promise.all(Array.from({ length: 50 }, () => order(wallet, sku, 1)));
    // One list call per poll (fifty GETs every 200 ms would spend the buyer's rate limit).
    const ids = new Set(placed.map((o) => o.id));
    let ends: Order[] = [];
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; ) {
      const page = (await (await api("/v1/orders?limit=100", buyer)).json()) as { items: Order[] };
      ends = page.items.filter((o) => ids.has(o.id) && (o.status === "CONFIRMED" || o.status === "CANCELLED"));
      if (ends.length === ids.size) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    expect(ends).toHaveLength(50);
    expect(ends.filter((o) => o.status === "CONFIRMED")).toHaveLength(10);
    const cancelled = ends.filter((o) => o.status === "CANCELLED");
    expect(cancelled).toHaveLength(40);
    expect(new Set(cancelled.map((o) => o.reason))).toEqual(new Set([`out_of_stock:${sku}`]));
    expect(await available(sku)).toBe(0);
    // Every hold of a cancelled order is released; the merchant got exactly the 10 payments.
    const deadline = Date.now() + 30_000;
    let paid = await balance(buyer, wallet);
    while (Date.now() < deadline && paid.available !== paid.posted) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      paid = await balance(buyer, wallet);
    }
    expect(paid).toMatchObject({ posted: "99000", available: "99000" });
    expect(BigInt((await balance(shop, shopAccount)).posted) - before).toBe(1000n);
  }, 150_000);
});
