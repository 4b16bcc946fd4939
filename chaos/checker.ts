/**
 * The checker: reads a chaos run's history and reports every violation of the invariants
 * (ARCHITECTURE.md §3, §16) with the operations involved. It trusts nothing the run believed:
 * only what clients were told (the history) and what the system holds at the end (the final
 * observation).
 */
import type { FinalObservation, MoveOperation, Operation } from "./history.ts";

export interface Violation {
  check:
    | "conservation"
    | "limit"
    | "applied-once"
    | "acknowledged"
    | "real-outcome"
    | "ledger"
    | "chain"
    | "events"
    | "orders"
    | "attention";
  message: string;
  operations: Operation[];
}

/** What a final answer says happened: applied, refused (nothing happened), or not final. */
function outcomeOf(answer: { httpStatus: number; status?: string | undefined } | undefined) {
  if (!answer) return "unknown";
  if (answer.httpStatus === 201 || answer.status === "COMPLETED") return "applied";
  if (answer.httpStatus === 422 || answer.status === "FAILED" || answer.status === "VOIDED") return "refused";
  return "unknown";
}

/** Money is neither made nor lost: every currency's balances (settlement included) sum to zero. */
function conservation(final: FinalObservation, end: Operation): Violation[] {
  const sums = new Map<string, bigint>();
  for (const account of Object.values(final.accounts))
    sums.set(account.currency, (sums.get(account.currency) ?? 0n) + BigInt(account.posted));
  return [...sums]
    .filter(([, sum]) => sum !== 0n)
    .map(([currency, sum]) => ({
      check: "conservation" as const,
      message: `${currency} balances sum to ${sum}, not 0: money was ${sum > 0n ? "created" : "lost"}`,
      operations: [end],
    }));
}

/** No read ever showed an available balance below zero (the credit limit counted in). */
function limits(history: readonly Operation[], final: FinalObservation, end: Operation): Violation[] {
  const found: Violation[] = [];
  for (const op of history) {
    if (op.f !== "read" || op.type !== "ok" || !op.value.balance) continue;
    const { posted, pending, available, creditLimit } = op.value.balance;
    if (BigInt(available) < 0n)
      found.push({
        check: "limit",
        message: `${op.value.accountId} read with available ${available}`,
        operations: [op],
      });
    if (BigInt(available) !== BigInt(posted) - BigInt(pending) + BigInt(creditLimit))
      found.push({
        check: "limit",
        message: `${op.value.accountId}: available ${available} is not posted − pending + limit`,
        operations: [op],
      });
  }
  for (const [id, account] of Object.entries(final.accounts)) {
    const available = BigInt(account.posted) - BigInt(account.pending) + BigInt(account.creditLimit);
    if (account.kind === "customer" && available < 0n)
      found.push({ check: "limit", message: `${id} ends with available ${available}`, operations: [end] });
  }
  return found;
}

/**
 * Every move, by its Idempotency-Key: resolved one way at the end (asking again answers its real
 * outcome, never 202 or 409), applied exactly once if it was (one ledger entry, one net credit),
 * not at all if it was refused, and never against what a client was told.
 */
function moves(history: readonly Operation[], final: FinalObservation, end: Operation): Violation[] {
  const byKey = new Map<string, MoveOperation[]>();
  for (const op of history) if (op.f === "move") byKey.set(op.value.key, [...(byKey.get(op.value.key) ?? []), op]);
  const found: Violation[] = [];
  for (const [key, ops] of byKey) {
    const answer = final.answers[key];
    const outcome = outcomeOf(answer);
    const id = answer?.id ?? ops.find((op) => op.value.id)?.value.id;
    if (outcome === "unknown") {
      found.push({
        check: "real-outcome",
        message: `key ${key} is still answered ${answer ? answer.httpStatus : "nothing"} after the run: not its real outcome`,
        operations: [...ops, end],
      });
      continue;
    }
    // What a client was told stands: an acknowledged move ends applied, a refused one not.
    for (const op of ops) {
      const told =
        op.type === "ok"
          ? outcomeOf({ httpStatus: op.value.httpStatus ?? 0, status: op.value.status })
          : op.type === "fail"
            ? "refused"
            : "unknown";
      if (told !== "unknown" && told !== outcome)
        found.push({
          check: "acknowledged",
          message: `key ${key} was answered ${told}, yet it ended ${outcome}`,
          operations: [op, end],
        });
    }
    if (!id) {
      if (outcome === "applied")
        found.push({ check: "applied-once", message: `key ${key} applied, but no flow id is known`, operations: ops });
      continue;
    }
    const entries = final.ledgerEntries[id] ?? 0;
    const credits = final.credits[id] ?? 0;
    const expected = outcome === "applied" ? 1 : 0;
    if (entries !== expected || credits !== expected)
      found.push({
        check: "applied-once",
        message: `${id} (key ${key}) ended ${outcome} with ${entries} ledger entries and ${credits} net credits (expected ${expected} of each)`,
        operations: [...ops, end],
      });
  }
  return found;
}

/** The ledger agrees with the accounts, and its chain verifies. */
function ledger(final: FinalObservation, end: Operation): Violation[] {
  const found: Violation[] = [];
  for (const [id, account] of Object.entries(final.accounts)) {
    const booked = final.ledgerBalances[id] ?? "0";
    if (BigInt(booked) !== BigInt(account.posted))
      found.push({
        check: "ledger",
        message: `${id}: the ledger says ${booked}, the account ${account.posted}`,
        operations: [end],
      });
  }
  if (!final.chainValid)
    found.push({ check: "chain", message: "the ledger's hash chain does not verify", operations: [end] });
  return found;
}

/** What each applied move's users are told, once each (the notifications consumer's work). */
const expectedNotices: Record<MoveOperation["value"]["f"], string[]> = {
  transfer: ["Transfer completed", "Money received"],
  deposit: ["Money received"],
  withdraw: [],
  pay: ["Payment completed", "Payment received"],
  refund: ["Refund received"],
};

/**
 * Every event handled once downstream: each notification an applied move calls for arrived
 * exactly once, and nothing told a refused move's users that money moved.
 */
function events(history: readonly Operation[], final: FinalObservation, end: Operation): Violation[] {
  const found: Violation[] = [];
  const seen = new Set<string>();
  for (const op of history) {
    if (op.f !== "move" || seen.has(op.value.key)) continue;
    seen.add(op.value.key);
    const answer = final.answers[op.value.key];
    const id = answer?.id;
    if (!id) continue;
    const outcome = outcomeOf(answer);
    const told = final.notified[id] ?? {};
    for (const title of expectedNotices[op.value.f]) {
      const count = told[title] ?? 0;
      const expected = outcome === "applied" ? 1 : 0;
      if (count !== expected && outcome !== "unknown")
        found.push({
          check: "events",
          message: `${id} (${op.value.f}, ${outcome}): "${title}" told ${count} times, expected ${expected}`,
          operations: [op, end],
        });
    }
    for (const [title, count] of Object.entries(told))
      if (count > 1)
        found.push({ check: "events", message: `${id}: "${title}" told ${count} times`, operations: [op, end] });
  }
  return found;
}

/**
 * The order choreography: every order ends CONFIRMED or CANCELLED; a confirmed one was paid (its
 * payment COMPLETED, the money credited to the merchant once), a cancelled one was not (no
 * payment, one that ended without moving money, or one refunded in full); and each product's
 * stock is what it was given less what confirmed orders took.
 */
function orders(history: readonly Operation[], final: FinalObservation, end: Operation): Violation[] {
  const found: Violation[] = [];
  const placed = new Map<string, Operation>();
  for (const op of history) if (op.f === "order" && op.type === "ok" && op.value.id) placed.set(op.value.id, op);
  const taken = new Map<string, number>();
  for (const [id, op] of placed) {
    const order = final.orders[id];
    if (!order) {
      found.push({
        check: "orders",
        message: `order ${id} was accepted but is not in the system`,
        operations: [op, end],
      });
      continue;
    }
    const paid = order.payment ? (final.credits[order.payment.id] ?? 0) : 0;
    if (order.status === "CONFIRMED") {
      for (const line of order.lines) taken.set(line.sku, (taken.get(line.sku) ?? 0) + line.quantity);
      if (order.payment?.status !== "COMPLETED" || paid !== 1)
        found.push({
          check: "orders",
          message: `order ${id} CONFIRMED (stock taken) but its payment is ${order.payment?.status ?? "missing"} with ${paid} credits`,
          operations: [op, end],
        });
    } else if (order.status === "CANCELLED") {
      // Never paid, or paid and refunded in full (the cancellation raced the capture).
      const payment = order.payment;
      const kept = payment && paid !== 0 ? BigInt(payment.amount) - BigInt(payment.refunded) : 0n;
      if (kept !== 0n || (payment?.status === "COMPLETED" && paid !== 1))
        found.push({
          check: "orders",
          message: `order ${id} CANCELLED but its payment ${payment?.id} is ${payment?.status} with ${paid} credits and ${kept} not refunded`,
          operations: [op, end],
        });
    } else
      found.push({
        check: "real-outcome",
        message: `order ${id} is still ${order.status} after the run`,
        operations: [op, end],
      });
  }
  for (const [sku, product] of Object.entries(final.products)) {
    const expected = product.stocked - (taken.get(sku) ?? 0);
    if (product.available !== expected)
      found.push({
        check: "orders",
        message: `${sku}: ${product.available} available, but ${product.stocked} stocked less ${taken.get(sku) ?? 0} confirmed is ${expected}`,
        operations: [end],
      });
  }
  return found;
}

/**
 * NEEDS_ATTENTION only where a fault made it necessary: an operator's repair in a run without
 * faults means the system gave up on something it should have finished by itself.
 */
function attention(history: readonly Operation[]): Violation[] {
  if (history.some((op) => op.f === "nemesis")) return [];
  return history
    .filter((op) => op.f === "repair" && op.type === "invoke")
    .map((op) => ({
      check: "attention" as const,
      message: `${op.f === "repair" ? op.value.id : ""} needed an operator in a run without faults`,
      operations: [op],
    }));
}

/** Every violation in a history; none means the run kept every invariant the checker knows. */
export function check(history: readonly Operation[]): Violation[] {
  const end = history.findLast((op): op is Extract<Operation, { f: "final" }> => op.f === "final");
  if (!end) return [{ check: "real-outcome", message: "the history has no final observation", operations: [] }];
  const final = end.value;
  return [
    ...conservation(final, end),
    ...limits(history, final, end),
    ...moves(history, final, end),
    ...ledger(final, end),
    ...events(history, final, end),
    ...orders(history, final, end),
    ...attention(history),
  ];
}

/** The run in figures, and every violation with the operations involved. */
export function summarize(history: readonly Operation[], violations: readonly Violation[]): string {
  const moves = history.filter((op): op is MoveOperation => op.f === "move");
  const keys = new Map<string, MoveOperation[]>();
  for (const op of moves) keys.set(op.value.key, [...(keys.get(op.value.key) ?? []), op]);
  const byKind = new Map<string, number>();
  for (const ops of keys.values()) {
    const f = ops[0]?.value.f ?? "?";
    byKind.set(f, (byKind.get(f) ?? 0) + 1);
  }
  const attempts = moves.filter((op) => op.type === "invoke").length;
  const told = { ok: 0, fail: 0, info: 0 };
  for (const ops of keys.values()) {
    const last = ops.findLast((op) => op.type !== "invoke");
    if (last && last.type !== "invoke") told[last.type] += 1;
  }
  const final = history.findLast((op) => op.f === "final");
  const outcomes = { applied: 0, refused: 0, unknown: 0 };
  if (final?.f === "final") for (const key of keys.keys()) outcomes[outcomeOf(final.value.answers[key])] += 1;
  const reads = history.filter((op) => op.f === "read" && op.type === "ok").length;
  const orderCount = new Set(history.flatMap((op) => (op.f === "order" && op.type === "invoke" ? [op.value.key] : [])))
    .size;
  const cancels = new Set(history.flatMap((op) => (op.f === "cancel" && op.type === "invoke" ? [op.value.key] : [])))
    .size;
  const faults = new Map<string, number>();
  for (const op of history)
    if (op.f === "nemesis" && op.value.phase === "start")
      faults.set(op.value.fault, (faults.get(op.value.fault) ?? 0) + 1);
  const repairs = history.filter((op) => op.f === "repair" && op.type === "invoke").length;
  const lines = [
    `operations: ${keys.size} money moves (${[...byKind].map(([f, n]) => `${f} ${n}`).join(", ")}), ${reads} balance reads, ${orderCount} orders (${cancels} cancellations asked)`,
    `attempts: ${attempts} (${attempts - keys.size} retries); clients were told: ${told.ok} ok, ${told.fail} refused, ${told.info} unknown`,
    `outcomes after the run: ${outcomes.applied} applied, ${outcomes.refused} refused, ${outcomes.unknown} unresolved`,
    `faults: ${[...faults].map(([f, n]) => `${f} ×${n}`).join(", ") || "none"}; operator repairs: ${repairs}`,
    `time: ${((history.at(-1)?.time ?? 0) / 1000).toFixed(0)} s`,
  ];
  if (final?.f === "final")
    lines.push(
      `books: ${Object.keys(final.value.accounts).length} accounts, ${Object.keys(final.value.ledgerEntries).length} flows in the ledger, chain ${final.value.chainValid ? "verified" : "BROKEN"}; orders ${Object.entries(
        Object.values(final.value.orders).reduce<Record<string, number>>((counts, order) => {
          counts[order.status] = (counts[order.status] ?? 0) + 1;
          return counts;
        }, {}),
      )
        .map(([status, n]) => `${status} ${n}`)
        .join(", ")}`,
    );
  if (violations.length === 0)
    lines.push(
      "checker: no violation (conservation, limits, exactly-once, real outcomes, ledger = accounts, chain, " +
        "events handled once, orders against payments and stock, nothing left for an operator)",
    );
  else {
    lines.push(`checker: ${violations.length} violation(s)`);
    for (const violation of violations.slice(0, 50)) {
      lines.push(`  [${violation.check}] ${violation.message}`);
      for (const op of violation.operations.filter((o) => o.f !== "final").slice(0, 6))
        lines.push(`      ${JSON.stringify(op)}`);
    }
    if (violations.length > 50) lines.push(`  … and ${violations.length - 50} more`);
  }
  return lines.join("\n");
}
