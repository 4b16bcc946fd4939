/**
 * The final observation, after every fault has healed: each key asked again until its answer is
 * final (an operator retries a flow left in NEEDS_ATTENTION, recorded in the history), then the
 * books read through the public API only: every account's balance and statement, the
 * settlement accounts included; every account's ledger postings; the ledger's hash chain.
 */
import { check } from "./checker.ts";
import { type Answer, call, flowIdOf, type User } from "./client.ts";
import type { FinalObservation } from "./history.ts";
import { placeOrder, type Recorder, type World } from "./workload.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type AnswerRecord = FinalObservation["answers"][string];

function answerRecord(answer: Answer): AnswerRecord | undefined {
  if (answer.kind === "lost") return undefined;
  const { body, status } = answer;
  const id = flowIdOf(body);
  return {
    httpStatus: status,
    ...(id ? { id } : {}),
    ...(typeof body.status === "string" ? { status: body.status } : {}),
  };
}

const isFinal = (record: AnswerRecord | undefined) =>
  record !== undefined &&
  record.httpStatus !== 202 &&
  record.httpStatus !== 409 &&
  record.httpStatus !== 429 &&
  record.httpStatus < 500;

/** A read through whatever is still recovering: asked again on a lost answer, a 429 or a 5xx. */
async function read(url: string, path: string, user?: User): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const answer = await call(url, path, user ? { user } : {});
    const again = answer.kind === "lost" || answer.status === 429 || answer.status >= 500;
    if (!again || attempt >= 20) return answer;
    await sleep(answer.kind === "answer" && answer.retryAfterMs ? answer.retryAfterMs : 1_000);
  }
}

/** Every page of a cursor-paginated list. */
async function pages<T>(url: string, path: string, user: User): Promise<{ items: T[]; last: Record<string, unknown> }> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const separator = path.includes("?") ? "&" : "?";
    const answer = await read(
      url,
      `${path}${separator}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      user,
    );
    if (answer.kind === "lost" || answer.status !== 200)
      throw new Error(
        `GET ${path}: ${answer.kind === "lost" ? answer.reason : `${answer.status} ${JSON.stringify(answer.body)}`}`,
      );
    items.push(...((answer.body.items as T[]) ?? []));
    cursor = answer.body.nextCursor as string | undefined;
    if (!cursor) return { items, last: answer.body };
  }
}

type FlowKind = "transfer" | "payment" | "refund";

/** An operator's retry of a flow in NEEDS_ATTENTION (once per flow), recorded in the history. */
async function repair(world: World, recorder: Recorder, repaired: Set<string>, flow: FlowKind, id: string) {
  if (repaired.has(id)) return;
  repaired.add(id);
  const path = `/v1/${flow === "refund" ? "refunds" : `${flow}s`}/${id}/retry`;
  const value = { id, flow };
  recorder.add({ f: "repair", type: "invoke", process: 0, time: recorder.time(), value });
  const retried = await call(world.url, path, { user: world.operator, body: {}, key: `repair-${id}` });
  recorder.add({
    f: "repair",
    type: retried.kind === "answer" && retried.status < 300 ? "ok" : "info",
    process: 0,
    time: recorder.time(),
    value: { ...value, ...(retried.kind === "answer" ? { httpStatus: retried.status } : {}) },
  });
}

/** Whatever waits for an operator, of every kind of flow (an order's payment too): each retried once. */
async function repairAttention(world: World, recorder: Recorder, repaired: Set<string>) {
  for (const flow of ["transfer", "payment", "refund"] as const) {
    const path = `/v1/${flow}s?status=NEEDS_ATTENTION&limit=100`;
    const waiting = await read(world.url, path, world.operator);
    if (waiting.kind === "lost" || waiting.status !== 200) continue;
    for (const item of (waiting.body.items as Array<{ id: string }> | undefined) ?? [])
      await repair(world, recorder, repaired, flow, item.id);
  }
}

/** Asks every key again until each answer is final; repairs what waits for an operator. */
export async function settle(
  world: World,
  recorder: Recorder,
  boundMs: number,
  repaired: Set<string>,
): Promise<Record<string, AnswerRecord>> {
  const answers: Record<string, AnswerRecord> = {};
  const deadline = Date.now() + boundMs;
  let open = [...world.intents.keys()];
  while (open.length > 0) {
    const still: string[] = [];
    const queue = [...open];
    // A few keys at a time, as clients would: a long run has thousands to ask again.
    const asker = async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        const intent = world.intents.get(key);
        if (!intent) continue;
        const record = answerRecord(await intent.send());
        if (record) answers[key] = record;
        if (isFinal(record)) continue;
        still.push(key);
        if (record?.status === "NEEDS_ATTENTION" && record.id)
          await repair(world, recorder, repaired, intent.flow, record.id);
      }
    };
    await Promise.all(Array.from({ length: 8 }, asker));
    open = still;
    if (open.length === 0 || Date.now() > deadline) break;
    await sleep(2_000);
  }
  return answers;
}

/** Asks again every order whose answer never came: its answer names it, and it is checked like the rest. */
async function settleOrders(world: World, recorder: Recorder, boundMs: number): Promise<void> {
  const named = new Set(world.orders.map((order) => order.key));
  for (const [key, intent] of world.orderIntents)
    if (!named.has(key)) await placeOrder(world, intent, 0, recorder, boundMs);
}

/** The books as the API shows them. */
export async function readBooks(world: World): Promise<Omit<FinalObservation, "answers">> {
  const { url, operator, auditor } = world;
  const system = await pages<{ id: string }>(url, "/v1/accounts?ownerId=system", operator);
  const ids = [...world.accountIds, ...system.items.map((account) => account.id)];
  const systemIds = new Set(system.items.map((account) => account.id));
  const accounts: FinalObservation["accounts"] = {};
  const credits: Record<string, number> = {};
  const entries = new Map<string, Set<string>>();
  const ledgerBalances: Record<string, string> = {};
  for (const id of ids) {
    const balance = await read(url, `/v1/accounts/${id}/balance`, operator);
    if (balance.kind === "lost" || balance.status !== 200)
      throw new Error(`balance of ${id}: ${JSON.stringify(balance)}`);
    const currency = String(balance.body.currency);
    accounts[id] = {
      currency,
      kind: systemIds.has(id) ? "system" : "customer",
      posted: String(balance.body.posted),
      pending: String(balance.body.pending),
      creditLimit: String(balance.body.creditLimit),
    };
    const statement = await pages<{ operationId: string }>(url, `/v1/accounts/${id}/operations`, operator);
    for (const { operationId } of statement.items) {
      const [flow = "", step = ""] = operationId.split(":");
      if (step === "credit") credits[flow] = (credits[flow] ?? 0) + 1;
      else if (step.startsWith("reverse-credit")) credits[flow] = (credits[flow] ?? 0) - 1;
    }
    const ledger = await pages<{ sequence: string; transferId: string }>(
      url,
      `/v1/ledger/accounts/${id}/entries`,
      auditor,
    );
    for (const { sequence, transferId } of ledger.items)
      entries.set(transferId, (entries.get(transferId) ?? new Set()).add(sequence));
    ledgerBalances[id] = (ledger.last.balances as Record<string, string> | undefined)?.[currency] ?? "0";
  }
  const verify = await read(url, "/v1/ledger/verify", auditor);
  return {
    accounts,
    credits,
    ledgerEntries: Object.fromEntries([...entries].map(([flow, sequences]) => [flow, sequences.size])),
    ledgerBalances,
    chainValid: verify.kind === "answer" && verify.status === 200 && verify.body.valid === true,
    notified: await readNotifications(world),
    ...(await readOrders(world)),
  };
}

/** Every user's inbox, by the flow each notification is about. */
async function readNotifications(world: World): Promise<FinalObservation["notified"]> {
  const notified: FinalObservation["notified"] = {};
  for (const user of [...world.customers.map((c) => c.user), world.merchant.user]) {
    const inbox = await pages<{ title: string; data: Record<string, unknown> }>(world.url, "/v1/notifications", user);
    for (const { title, data } of inbox.items) {
      const flow = [data.refundId, data.transferId, data.paymentId].find((v) => typeof v === "string") as
        | string
        | undefined;
      if (!flow) continue;
      const titles = notified[flow] ?? {};
      titles[title] = (titles[title] ?? 0) + 1;
      notified[flow] = titles;
    }
  }
  return notified;
}

/** The orders placed, each with the payment made for it, and the products' stock. */
async function readOrders(world: World): Promise<Pick<FinalObservation, "orders" | "products">> {
  const { url, operator, merchant } = world;
  const payments = await pages<{
    id: string;
    reference: string;
    status: string;
    amount: string;
    refundedAmount: string;
  }>(url, "/v1/payments?as=merchant", merchant.user);
  const byOrder = new Map(
    payments.items.filter((p) => p.reference.startsWith("order ")).map((p) => [p.reference.slice("order ".length), p]),
  );
  const orders: FinalObservation["orders"] = {};
  for (const { id } of world.orders) {
    const order = await read(url, `/v1/orders/${id}`, operator);
    if (order.kind === "lost" || order.status !== 200) throw new Error(`order ${id}: ${JSON.stringify(order)}`);
    const payment = byOrder.get(id);
    orders[id] = {
      status: String(order.body.status),
      lines: (order.body.lines as Array<{ sku: string; quantity: number }>).map(({ sku, quantity }) => ({
        sku,
        quantity,
      })),
      ...(payment
        ? {
            payment: {
              id: payment.id,
              status: payment.status,
              amount: payment.amount,
              refunded: payment.refundedAmount,
            },
          }
        : {}),
    };
  }
  const products: FinalObservation["products"] = {};
  for (const { sku, stocked } of world.products) {
    const product = await read(url, `/v1/products/${sku}`);
    if (product.kind === "lost" || product.status !== 200)
      throw new Error(`product ${sku}: ${JSON.stringify(product)}`);
    products[sku] = { stocked, available: Number(product.body.available) };
  }
  return { orders, products };
}

/**
 * The final observation: keys settled, then the books read until the ledger has caught up with
 * the accounts (it records from events) or `boundMs` passes; the last reading stands.
 */
export async function observe(
  world: World,
  recorder: Recorder,
  boundMs: number,
  log: (line: string) => void,
): Promise<FinalObservation> {
  const deadline = Date.now() + boundMs;
  const repaired = new Set<string>();
  const answers = await settle(world, recorder, boundMs, repaired);
  await settleOrders(world, recorder, boundMs);
  for (;;) {
    await repairAttention(world, recorder, repaired);
    const final = { ...(await readBooks(world)), answers };
    // What follows from events (the ledger, notifications, orders) may still be on its way:
    // read again until the checker finds nothing, or the bound passes.
    const left = check([...recorder.operations, { f: "final", type: "ok", process: 0, time: 0, value: final }]);
    if (left.length === 0 || Date.now() > deadline) return final;
    log(
      `not settled yet: ${left.length} (${left
        .slice(0, 3)
        .map((v) => v.message)
        .join("; ")})`,
    );
    await sleep(5_000);
  }
}
