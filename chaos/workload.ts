/**
 * The workload: customers and a merchant set up through the gateway, then C client processes
 * drawing operations from the seed (transfers, deposits and withdrawals by the operator,
 * payments, refunds by the merchant, orders and their cancellation, balance reads) until M
 * operations are done. Every money
 * move carries an Idempotency-Key; an answer lost, or not final (202, 409 while it runs, 429,
 * 5xx), is asked again with the same key and body until it is final or the bound passes.
 * Each attempt goes into the history as an invoke and its completion.
 */
import { type Answer, call, flowIdOf, signIn, type User } from "./client.ts";
import type { MoveOperation, Operation } from "./history.ts";
import type { Random } from "./random.ts";

export type MoveValue = MoveOperation["value"];
type Flow = "transfer" | "payment" | "refund";

/** A money move a client meant: what it asked (the history's value) and how to ask it (again). */
export interface Intent {
  value: MoveValue;
  flow: Flow;
  send(): Promise<Answer>;
}

export class Recorder {
  readonly operations: Operation[] = [];
  readonly #started = performance.now();
  time(): number {
    return Math.round((performance.now() - this.#started) * 1000) / 1000;
  }
  add(op: Operation): void {
    this.operations.push(op);
  }
}

export interface World {
  url: string;
  operator: User;
  auditor: User;
  customers: Array<{ user: User; accounts: Array<{ id: string; currency: string }> }>;
  merchant: { user: User; accountId: string; merchantId: string };
  /** Every account the run opened. */
  accountIds: string[];
  /** Every move asked, by key (the observer asks each again for its real outcome). */
  intents: Map<string, Intent>;
  /** Payments known to have completed, which the merchant may refund. */
  completedPayments: Array<{ id: string; amount: bigint }>;
  /** The merchant's products and the stock each was given. */
  products: Array<{ sku: string; stocked: number }>;
  /** Orders placed (their ids, by the customer who placed them, and the key they were asked with). */
  orders: Array<{ id: string; customer: number; key: string }>;
  /**
   * Every order asked, by key: an order whose answer never came within the bound is asked again
   * by the observer, whose answer names it (it may have taken stock and money all the same).
   */
  orderIntents: Map<string, OrderIntent>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a completed attempt says: final (ok: applied, fail: refused) or not (info). */
function completion(answer: Answer): {
  type: "ok" | "fail" | "info";
  extra: Partial<MoveValue>;
  waitMs?: number;
} {
  if (answer.kind === "lost") return { type: "info", extra: { reason: answer.reason } };
  const { status, body } = answer;
  const id = flowIdOf(body);
  const extra: Partial<MoveValue> = {
    httpStatus: status,
    ...(id ? { id } : {}),
    ...(typeof body.status === "string" ? { status: body.status } : {}),
  };
  if (status === 200 || status === 201) return { type: "ok", extra };
  const reason = typeof body.reason === "string" ? body.reason : typeof body.code === "string" ? body.code : undefined;
  if (reason) extra.reason = reason;
  if (status === 202 || status === 409 || status === 429 || status === 401 || status >= 500)
    return { type: "info", extra, ...(answer.retryAfterMs ? { waitMs: answer.retryAfterMs } : {}) };
  // 422 (refused: insufficient funds, over-refund…) and the other 4xx: nothing happened.
  return { type: "fail", extra };
}

/** Asks until the answer is final or `boundMs` passes; the last completion's type. */
export async function perform(
  intent: Intent,
  process: number,
  recorder: Recorder,
  boundMs: number,
): Promise<{ type: "ok" | "fail" | "info"; value: MoveValue }> {
  const deadline = Date.now() + boundMs;
  for (let attempt = 0; ; attempt++) {
    recorder.add({ f: "move", type: "invoke", process, time: recorder.time(), value: intent.value });
    const answer = await intent.send();
    const { type, extra, waitMs } = completion(answer);
    const value = { ...intent.value, ...extra };
    recorder.add({ f: "move", type, process, time: recorder.time(), value });
    if (type !== "info" || Date.now() > deadline) return { type, value };
    await sleep(waitMs ?? Math.min(250 * 2 ** attempt, 3_000));
  }
}

/** Creates the users, accounts and merchant, and funds every customer account (recorded moves). */
export async function setUp(options: {
  url: string;
  seed: number;
  customers: number;
  operator: { email: string; password: string };
  auditor: { email: string; password: string };
  recorder: Recorder;
  boundMs: number;
}): Promise<World> {
  const { url, seed } = options;
  const deadline = Date.now() + 120_000;
  const ok = async (answer: Promise<Answer>, what: string) => {
    const settled = await answer;
    if (settled.kind === "lost" || settled.status >= 300)
      throw new Error(
        `${what}: ${settled.kind === "lost" ? settled.reason : `${settled.status} ${JSON.stringify(settled.body)}`}`,
      );
    return settled.body;
  };
  const newUser = async (email: string, accountType: "customer" | "merchant", ip: string) => {
    const password = `chaos-${seed}-${crypto.randomUUID()}`;
    await ok(call(url, "/v1/auth/register", { body: { email, password, accountType }, ip }), `register ${email}`);
    return signIn(url, email, password, ip, deadline);
  };
  const open = async (user: User, currency: string) =>
    (
      await ok(
        call(url, "/v1/accounts", { user, body: { currency, name: `chaos ${currency}` }, key: crypto.randomUUID() }),
        "open an account",
      )
    ).id as string;

  const operator = await signIn(url, options.operator.email, options.operator.password, "198.51.100.1", deadline);
  const auditor = await signIn(url, options.auditor.email, options.auditor.password, "198.51.100.2", deadline);
  const world: World = {
    url,
    operator,
    auditor,
    customers: [],
    merchant: { user: operator, accountId: "", merchantId: "" },
    accountIds: [],
    intents: new Map(),
    completedPayments: [],
    products: [],
    orders: [],
    orderIntents: new Map(),
  };
  for (let i = 0; i < options.customers; i++) {
    const user = await newUser(`chaos-${seed}-${i}@customers.test`, "customer", `198.51.100.${10 + i}`);
    const currencies = i % 2 === 0 ? ["EUR", "GBP"] : ["EUR"];
    const accounts = [];
    for (const currency of currencies) accounts.push({ id: await open(user, currency), currency });
    world.customers.push({ user, accounts });
    world.accountIds.push(...accounts.map((account) => account.id));
  }
  const shop = await newUser(`chaos-${seed}-shop@merchants.test`, "merchant", "198.51.100.9");
  const shopAccount = await open(shop, "EUR");
  const merchant = await ok(
    call(url, "/v1/merchants", {
      user: shop,
      body: { name: `Chaos shop ${seed}`, accountId: shopAccount },
      key: crypto.randomUUID(),
    }),
    "register the merchant",
  );
  world.merchant = { user: shop, accountId: shopAccount, merchantId: merchant.id as string };
  world.accountIds.push(shopAccount);
  // A few products in short supply, so orders run out of stock and are cancelled for it.
  for (let i = 0; i < 3; i++) {
    const sku = `CHAOS-${seed}-${i}`;
    const stocked = 25;
    await ok(
      call(url, "/v1/products", {
        user: shop,
        body: {
          sku,
          name: `Chaos product ${i}`,
          price: String(150 * (i + 1)),
          merchantId: merchant.id,
          stock: stocked,
        },
        key: crypto.randomUUID(),
      }),
      `list ${sku}`,
    );
    world.products.push({ sku, stocked });
  }
  // Every customer account starts funded (moves like any other, checked like any other).
  let n = 0;
  for (const { accounts } of world.customers)
    for (const account of accounts) {
      const intent = deposit(world, `chaos-${seed}-setup-${n++}`, account.id, account.currency, 50_000n);
      const done = await perform(intent, 0, options.recorder, options.boundMs);
      if (done.type !== "ok") throw new Error(`funding ${account.id}: ${JSON.stringify(done.value)}`);
    }
  return world;
}

function remember(world: World, intent: Intent): Intent {
  world.intents.set(intent.value.key, intent);
  return intent;
}

function deposit(world: World, key: string, accountId: string, currency: string, amount: bigint): Intent {
  const body = { accountId, amount: amount.toString(), currency, description: "chaos deposit" };
  return remember(world, {
    flow: "transfer",
    value: { key, f: "deposit", to: accountId, amount: amount.toString(), currency },
    send: () => call(world.url, "/v1/transfers/deposits", { user: world.operator, body, key }),
  });
}

type Next = Intent | { read: string } | { order: OrderIntent } | { cancel: { id: string; user: User } };
export interface OrderIntent {
  key: string;
  accountId: string;
  lines: Array<{ sku: string; quantity: number }>;
  customer: number;
  send(): Promise<Answer>;
}

/** The next operation of a client, drawn from its random stream: a move, an order, a cancellation or a read. */
function nextOperation(world: World, random: Random, key: string): Next {
  const roll = random();
  const customerIndex = random.int(0, world.customers.length - 1);
  const customer = world.customers[customerIndex] as World["customers"][number];
  if (roll >= 0.9) {
    const placed = world.orders.filter((order) => order.customer === customerIndex);
    const eurAccount = customer.accounts.find((a) => a.currency === "EUR");
    if (roll >= 0.96 && placed.length > 0) return { cancel: { id: random.pick(placed).id, user: customer.user } };
    if (eurAccount) {
      const skus = [...world.products];
      const lines = Array.from({ length: random.int(1, 2) }, () => {
        const index = random.int(0, skus.length - 1);
        const [product] = skus.splice(index, 1);
        return { sku: product?.sku ?? "", quantity: random.int(1, 3) };
      });
      const body = { payerAccountId: eurAccount.id, lines };
      const send = () => call(world.url, "/v1/orders", { user: customer.user, body, key });
      const order = { key, accountId: eurAccount.id, lines, customer: customerIndex, send };
      world.orderIntents.set(key, order);
      return { order };
    }
  }
  const account = random.pick(customer.accounts);
  if (roll < 0.35) {
    const others = world.customers
      .flatMap((c) => c.accounts)
      .filter((a) => a.currency === account.currency && a.id !== account.id);
    if (others.length > 0) {
      const to = random.pick(others);
      const amount = String(random.int(1, 20_000));
      const body = {
        fromAccountId: account.id,
        toAccountId: to.id,
        amount,
        currency: account.currency,
        description: "chaos transfer",
      };
      return remember(world, {
        flow: "transfer",
        value: { key, f: "transfer", from: account.id, to: to.id, amount, currency: account.currency },
        send: () => call(world.url, "/v1/transfers", { user: customer.user, body, key }),
      });
    }
  }
  if (roll < 0.43) return deposit(world, key, account.id, account.currency, BigInt(random.int(1_000, 30_000)));
  if (roll < 0.5) {
    const amount = String(random.int(1, 20_000));
    const body = { accountId: account.id, amount, currency: account.currency, description: "chaos withdrawal" };
    return remember(world, {
      flow: "transfer",
      value: { key, f: "withdraw", from: account.id, amount, currency: account.currency },
      send: () => call(world.url, "/v1/transfers/withdrawals", { user: world.operator, body, key }),
    });
  }
  const eur = customer.accounts.find((a) => a.currency === "EUR");
  if (roll < 0.7 && eur) {
    const amount = String(random.int(1, 10_000));
    const body = {
      fromAccountId: eur.id,
      merchantId: world.merchant.merchantId,
      amount,
      currency: "EUR",
      reference: `chaos ${key}`,
    };
    return remember(world, {
      flow: "payment",
      value: { key, f: "pay", from: eur.id, to: world.merchant.accountId, amount, currency: "EUR" },
      send: () => call(world.url, "/v1/payments", { user: customer.user, body, key }),
    });
  }
  if (roll < 0.8 && world.completedPayments.length > 0) {
    const payment = random.pick(world.completedPayments);
    // Sometimes more than is left to refund: a refusal the run must see as one.
    const amount = String(random.int(1, Number(payment.amount)));
    const body = { amount, reason: "chaos refund" };
    return remember(world, {
      flow: "refund",
      value: { key, f: "refund", from: world.merchant.accountId, amount, currency: "EUR" },
      send: () => call(world.url, `/v1/payments/${payment.id}/refunds`, { user: world.merchant.user, body, key }),
    });
  }
  return { read: account.id };
}

/** Runs `clients` processes until `ops` operations are done (or `until` passes). */
export async function runClients(options: {
  world: World;
  seed: number;
  ops: number;
  clients: number;
  random: Random;
  recorder: Recorder;
  boundMs: number;
  /** No new operation after this time (ms since the epoch). */
  until?: number;
  onProgress?: (done: number) => void;
}): Promise<void> {
  const { world, recorder } = options;
  let issued = 0;
  const client = async (process: number) => {
    const random = options.random.fork(`client-${process}`);
    while (issued < options.ops && (options.until === undefined || Date.now() < options.until)) {
      const n = issued++;
      const key = `chaos-${options.seed}-${n}`;
      const next = nextOperation(world, random, key);
      if ("order" in next) await placeOrder(world, next.order, process, recorder, options.boundMs);
      else if ("cancel" in next) await cancelOrder(world, next.cancel, key, process, recorder);
      else if ("read" in next) {
        recorder.add({ f: "read", type: "invoke", process, time: recorder.time(), value: { accountId: next.read } });
        const answer = await call(world.url, `/v1/accounts/${next.read}/balance`, { user: world.operator });
        const balance =
          answer.kind === "answer" && answer.status === 200
            ? {
                posted: String(answer.body.posted),
                pending: String(answer.body.pending),
                available: String(answer.body.available),
                creditLimit: String(answer.body.creditLimit),
              }
            : undefined;
        recorder.add({
          f: "read",
          type: balance ? "ok" : answer.kind === "lost" || answer.status >= 500 ? "info" : "fail",
          process,
          time: recorder.time(),
          value: { accountId: next.read, ...(balance ? { balance } : {}) },
        });
      } else {
        const done = await perform(next, process, recorder, options.boundMs);
        if (next.flow === "payment" && done.type === "ok" && done.value.status === "COMPLETED" && done.value.id)
          world.completedPayments.push({ id: done.value.id, amount: BigInt(next.value.amount) });
      }
      options.onProgress?.(n + 1);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i + 1)));
}

/** Places an order, asking again with its key until an answer names it (202 PENDING). */
export async function placeOrder(
  world: World,
  intent: OrderIntent,
  process: number,
  recorder: Recorder,
  boundMs: number,
): Promise<void> {
  const deadline = Date.now() + boundMs;
  const value = { key: intent.key, accountId: intent.accountId, lines: intent.lines };
  for (let attempt = 0; ; attempt++) {
    recorder.add({ f: "order", type: "invoke", process, time: recorder.time(), value });
    const answer = await intent.send();
    const id = answer.kind === "answer" && typeof answer.body.id === "string" ? answer.body.id : undefined;
    const type =
      answer.kind === "answer" && answer.status === 202 && id
        ? "ok"
        : answer.kind === "lost" || answer.status >= 500 || answer.status === 409 || answer.status === 429
          ? "info"
          : "fail";
    recorder.add({
      f: "order",
      type,
      process,
      time: recorder.time(),
      value: {
        ...value,
        ...(id ? { id } : {}),
        ...(answer.kind === "answer" ? { httpStatus: answer.status } : { reason: answer.reason }),
      },
    });
    if (type === "ok" && id) world.orders.push({ id, customer: intent.customer, key: intent.key });
    if (type !== "info" || Date.now() > deadline) return;
    await sleep(Math.min(250 * 2 ** attempt, 3_000));
  }
}

/** Asks once to cancel an order (it may be confirmed already: then it stays so). */
async function cancelOrder(
  world: World,
  cancel: { id: string; user: User },
  key: string,
  process: number,
  recorder: Recorder,
) {
  const value = { key, accountId: "", id: cancel.id };
  recorder.add({ f: "cancel", type: "invoke", process, time: recorder.time(), value });
  const answer = await call(world.url, `/v1/orders/${cancel.id}/cancel`, { user: cancel.user, body: {}, key });
  recorder.add({
    f: "cancel",
    type:
      answer.kind === "answer" && answer.status === 200
        ? "ok"
        : answer.kind === "answer" && answer.status < 500
          ? "fail"
          : "info",
    process,
    time: recorder.time(),
    value: {
      ...value,
      ...(answer.kind === "answer"
        ? {
            httpStatus: answer.status,
            ...(typeof answer.body.status === "string" ? { status: answer.body.status } : {}),
          }
        : { reason: answer.reason }),
    },
  });
}
