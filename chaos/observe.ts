/**
 * The final observation, after every fault has healed: each key asked again until its answer is
 * final (an operator retries a flow left in NEEDS_ATTENTION, recorded in the history), then the
 * books read through the public API only: every account's balance and statement, the
 * settlement accounts included; every account's ledger postings; the ledger's hash chain.
 */
import { type Answer, call, type User } from "./client.ts";
import type { FinalObservation } from "./history.ts";
import type { Recorder, World } from "./workload.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type AnswerRecord = FinalObservation["answers"][string];

function answerRecord(answer: Answer): AnswerRecord | undefined {
  if (answer.kind === "lost") return undefined;
  const { body, status } = answer;
  const id = [body.id, body.transferId, body.paymentId, body.refundId].find((v) => typeof v === "string") as
    | string
    | undefined;
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

/** Every page of a cursor-paginated list. */
async function pages<T>(url: string, path: string, user: User): Promise<{ items: T[]; last: Record<string, unknown> }> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const separator = path.includes("?") ? "&" : "?";
    const answer = await call(
      url,
      `${path}${separator}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      {
        user,
      },
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

/** Asks every key again until each answer is final; repairs what waits for an operator. */
export async function settle(world: World, recorder: Recorder, boundMs: number): Promise<Record<string, AnswerRecord>> {
  const answers: Record<string, AnswerRecord> = {};
  const repaired = new Set<string>();
  const deadline = Date.now() + boundMs;
  let open = [...world.intents.keys()];
  while (open.length > 0) {
    const still: string[] = [];
    for (const key of open) {
      const intent = world.intents.get(key);
      if (!intent) continue;
      const record = answerRecord(await intent.send());
      if (record) answers[key] = record;
      if (isFinal(record)) continue;
      still.push(key);
      if (record?.status === "NEEDS_ATTENTION" && record.id && !repaired.has(record.id)) {
        repaired.add(record.id);
        const path = `/v1/${intent.flow === "refund" ? "refunds" : `${intent.flow}s`}/${record.id}/retry`;
        const value = { id: record.id, flow: intent.flow };
        recorder.add({ f: "repair", type: "invoke", process: 0, time: recorder.time(), value });
        const retried = await call(world.url, path, { user: world.operator, body: {}, key: `repair-${record.id}` });
        recorder.add({
          f: "repair",
          type: retried.kind === "answer" && retried.status < 300 ? "ok" : "info",
          process: 0,
          time: recorder.time(),
          value: { ...value, ...(retried.kind === "answer" ? { httpStatus: retried.status } : {}) },
        });
      }
    }
    open = still;
    if (open.length === 0 || Date.now() > deadline) break;
    await sleep(2_000);
  }
  return answers;
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
    const balance = await call(url, `/v1/accounts/${id}/balance`, { user: operator });
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
  const verify = await call(url, "/v1/ledger/verify", { user: auditor });
  return {
    accounts,
    credits,
    ledgerEntries: Object.fromEntries([...entries].map(([flow, sequences]) => [flow, sequences.size])),
    ledgerBalances,
    chainValid: verify.kind === "answer" && verify.status === 200 && verify.body.valid === true,
  };
}

/**
 * The final observation: keys settled, then the books read until the ledger has caught up with
 * the accounts (it records from events) or `boundMs` passes; the last reading stands.
 */
export async function observe(world: World, recorder: Recorder, boundMs: number): Promise<FinalObservation> {
  const deadline = Date.now() + boundMs;
  const answers = await settle(world, recorder, boundMs);
  for (;;) {
    const books = await readBooks(world);
    const caughtUp = Object.entries(books.accounts).every(
      ([id, account]) => (books.ledgerBalances[id] ?? "0") === account.posted && account.pending === "0",
    );
    if (caughtUp || Date.now() > deadline) return { ...books, answers };
    await sleep(3_000);
  }
}
