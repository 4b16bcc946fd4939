import { describe, expect, it } from "vitest";
import { check } from "../checker.ts";
import { type FinalObservation, formatHistory, type Operation, parseHistory } from "../history.ts";

/**
 * The checker against histories written by hand: one that keeps every invariant, then the same
 * history doctored the way a broken build would write it. Each doctoring must be caught by the
 * check that owns it, and only by it.
 */
const transfer = (key: string) =>
  ({ key, f: "transfer", from: "acc_a", to: "acc_b", amount: "300", currency: "EUR" }) as const;

function history(): Operation[] {
  const final: FinalObservation = {
    accounts: {
      acc_a: { currency: "EUR", kind: "customer", posted: "700", pending: "0", creditLimit: "0" },
      acc_b: { currency: "EUR", kind: "customer", posted: "300", pending: "0", creditLimit: "0" },
      acc_settlement: { currency: "EUR", kind: "system", posted: "-1000", pending: "0", creditLimit: "0" },
    },
    credits: { trf_deposit: 1, trf_one: 1, trf_refused: 0, trf_lost: 0, pay_order: 1 },
    ledgerEntries: { trf_deposit: 1, trf_one: 1 },
    ledgerBalances: { acc_a: "700", acc_b: "300", acc_settlement: "-1000" },
    chainValid: true,
    notified: {
      trf_deposit: { "Money received": 1 },
      trf_one: { "Transfer completed": 1, "Money received": 1 },
      trf_refused: { "Transfer failed": 1 },
    },
    orders: {
      ord_confirmed: {
        status: "CONFIRMED",
        lines: [{ sku: "SKU-1", quantity: 2 }],
        payment: { id: "pay_order", status: "COMPLETED", amount: "300", refunded: "0" },
      },
      ord_cancelled: { status: "CANCELLED", lines: [{ sku: "SKU-1", quantity: 5 }] },
    },
    products: { "SKU-1": { stocked: 10, available: 8 } },
    answers: {
      "k-deposit": { httpStatus: 201, id: "trf_deposit", status: "COMPLETED" },
      "k-one": { httpStatus: 201, id: "trf_one", status: "COMPLETED" },
      "k-refused": { httpStatus: 422, id: "trf_refused", status: "FAILED" },
      "k-lost": { httpStatus: 422, id: "trf_lost", status: "FAILED" },
    },
  };
  return [
    {
      f: "move",
      type: "invoke",
      process: 0,
      time: 1,
      value: { ...transfer("k-deposit"), f: "deposit", from: undefined, to: "acc_a", amount: "1000" },
    },
    {
      f: "move",
      type: "ok",
      process: 0,
      time: 2,
      value: {
        ...transfer("k-deposit"),
        f: "deposit",
        from: undefined,
        to: "acc_a",
        amount: "1000",
        id: "trf_deposit",
        status: "COMPLETED",
        httpStatus: 201,
      },
    },
    { f: "move", type: "invoke", process: 1, time: 3, value: transfer("k-one") },
    // The answer was lost (a fault); the retry with the same key gets the real outcome.
    { f: "move", type: "info", process: 1, time: 4, value: { ...transfer("k-one"), httpStatus: 503 } },
    { f: "move", type: "invoke", process: 1, time: 5, value: transfer("k-one") },
    {
      f: "move",
      type: "ok",
      process: 1,
      time: 6,
      value: { ...transfer("k-one"), id: "trf_one", status: "COMPLETED", httpStatus: 201 },
    },
    { f: "move", type: "invoke", process: 2, time: 7, value: { ...transfer("k-refused"), amount: "5000" } },
    {
      f: "move",
      type: "fail",
      process: 2,
      time: 8,
      value: {
        ...transfer("k-refused"),
        amount: "5000",
        id: "trf_refused",
        httpStatus: 422,
        reason: "insufficient_funds",
      },
    },
    // Never answered within the run: the final answer resolves it.
    { f: "move", type: "invoke", process: 3, time: 9, value: transfer("k-lost") },
    {
      f: "move",
      type: "info",
      process: 3,
      time: 10,
      value: { ...transfer("k-lost"), httpStatus: 202, id: "trf_lost", status: "PENDING" },
    },
    { f: "read", type: "invoke", process: 4, time: 11, value: { accountId: "acc_a" } },
    {
      f: "read",
      type: "ok",
      process: 4,
      time: 12,
      value: { accountId: "acc_a", balance: { posted: "700", pending: "0", available: "700", creditLimit: "0" } },
    },
    ...(["ord_confirmed", "ord_cancelled"] as const).map((id, i) => ({
      f: "order" as const,
      type: "ok" as const,
      process: 5,
      time: 12.5 + i / 10,
      value: { key: `k-${id}`, accountId: "acc_a", lines: [{ sku: "SKU-1", quantity: 2 }], id, httpStatus: 202 },
    })),
    { f: "final", type: "ok", process: -1, time: 13, value: final },
  ];
}

/** The history with its final observation changed by `doctor`. */
function withFinal(doctor: (final: FinalObservation) => void): Operation[] {
  const ops = history();
  const end = ops.at(-1);
  if (end?.f === "final") doctor(end.value);
  return ops;
}

const checks = (ops: Operation[]) => check(ops).map((violation) => violation.check);

describe("the chaos checker", () => {
  it("finds nothing wrong with a history that keeps every invariant, and reads it back from its file", () => {
    expect(check(history())).toEqual([]);
    expect(parseHistory(formatHistory(history()))).toEqual(JSON.parse(JSON.stringify(history())));
  });

  it("catches an operation applied twice (a second ledger entry and credit for one transfer)", () => {
    const ops = withFinal((final) => {
      final.ledgerEntries.trf_one = 2;
      final.credits.trf_one = 2;
      final.accounts.acc_b = { ...(final.accounts.acc_b as FinalObservation["accounts"][string]), posted: "600" };
      final.ledgerBalances.acc_b = "600";
    });
    const found = check(ops);
    expect(found.map((v) => v.check).sort()).toEqual(["applied-once", "conservation"]);
    const twice = found.find((v) => v.check === "applied-once");
    expect(twice?.message).toContain("trf_one");
    // The operations involved: the key's invoke, its lost answer, the retry, the ok, the end.
    expect(twice?.operations.map((op) => op.type)).toEqual(["invoke", "info", "invoke", "ok", "ok"]);
  });

  it("catches a lost ledger entry (applied in the accounts, missing from the ledger)", () => {
    const ops = withFinal((final) => {
      delete final.ledgerEntries.trf_one;
      final.ledgerBalances.acc_a = "1000";
      final.ledgerBalances.acc_b = "0";
    });
    expect(checks(ops).sort()).toEqual(["applied-once", "ledger", "ledger"]);
  });

  it("catches a dropped move (acknowledged to the client, then nothing happened)", () => {
    const ops = withFinal((final) => {
      final.answers["k-one"] = { httpStatus: 422, id: "trf_one", status: "FAILED" };
      final.credits.trf_one = 0;
      final.ledgerEntries.trf_one = 0;
      final.notified.trf_one = {};
    });
    expect(checks(ops)).toEqual(["acknowledged"]);
  });

  it("catches a stale idempotent answer (the key still answers 409 or 202 after the run)", () => {
    for (const stale of [{ httpStatus: 409 }, { httpStatus: 202, id: "trf_lost", status: "PENDING" }]) {
      const ops = withFinal((final) => {
        final.answers["k-lost"] = stale;
      });
      const found = check(ops);
      expect(found.map((v) => v.check)).toEqual(["real-outcome"]);
      expect(found[0]?.message).toContain("k-lost");
    }
  });

  it("catches money created or lost, a read below the limit, and a broken chain", () => {
    expect(
      checks(
        withFinal((final) => {
          final.accounts.acc_settlement = {
            ...(final.accounts.acc_settlement as FinalObservation["accounts"][string]),
            posted: "-900",
          };
          final.ledgerBalances.acc_settlement = "-900";
        }),
      ),
    ).toEqual(["conservation"]);
    const overdrawn = history().map((op) =>
      op.f === "read" && op.type === "ok"
        ? {
            ...op,
            value: { accountId: "acc_a", balance: { posted: "-50", pending: "0", available: "-50", creditLimit: "0" } },
          }
        : op,
    );
    expect(checks(overdrawn)).toEqual(["limit"]);
    const broken = withFinal((final) => {
      final.chainValid = false;
    });
    expect(checks(broken)).toEqual(["chain"]);
  });

  it("catches a dropped event and one handled twice downstream (notifications)", () => {
    const dropped = withFinal((final) => {
      delete final.notified.trf_one?.["Money received"];
    });
    expect(check(dropped).map((v) => v.message)).toEqual([
      'trf_one (transfer, applied): "Money received" told 0 times, expected 1',
    ]);
    const twice = withFinal((final) => {
      final.notified.trf_refused = { "Transfer failed": 2 };
    });
    expect(checks(twice)).toEqual(["events"]);
    const refusedButTold = withFinal((final) => {
      final.notified.trf_refused = { "Transfer completed": 1 };
    });
    expect(checks(refusedButTold)).toEqual(["events"]);
  });

  it("catches an order confirmed without payment, one paid yet cancelled, stock off, one never settled", () => {
    const unpaid = withFinal((final) => {
      final.credits.pay_order = 0;
    });
    expect(check(unpaid).map((v) => v.message)).toEqual([
      "order ord_confirmed CONFIRMED (stock taken) but its payment is COMPLETED with 0 credits",
    ]);
    const cancelledAfterCapture = (refunded: string) =>
      withFinal((final) => {
        final.credits.pay_late = 1;
        final.orders.ord_cancelled = {
          status: "CANCELLED",
          lines: [{ sku: "SKU-1", quantity: 5 }],
          payment: { id: "pay_late", status: "COMPLETED", amount: "750", refunded },
        };
      });
    // Captured before the cancellation arrived and refunded in full: as it should be.
    expect(checks(cancelledAfterCapture("750"))).toEqual([]);
    expect(check(cancelledAfterCapture("700")).map((v) => v.message)).toEqual([
      "order ord_cancelled CANCELLED but its payment pay_late is COMPLETED with 1 credits and 50 not refunded",
    ]);
    const stock = withFinal((final) => {
      final.products["SKU-1"] = { stocked: 10, available: 3 };
    });
    expect(check(stock).map((v) => v.message)).toEqual(["SKU-1: 3 available, but 10 stocked less 2 confirmed is 8"]);
    const pending = withFinal((final) => {
      final.orders.ord_cancelled = { status: "PENDING", lines: [{ sku: "SKU-1", quantity: 5 }] };
    });
    expect(checks(pending)).toEqual(["real-outcome"]);
  });

  it("catches a flow that needed an operator in a run without faults, and allows it when a fault made it necessary", () => {
    const repaired = [
      ...history().slice(0, -1),
      { f: "repair", type: "invoke", process: 0, time: 12.9, value: { id: "trf_lost", flow: "transfer" } },
      ...history().slice(-1),
    ] as Operation[];
    expect(checks(repaired)).toEqual(["attention"]);
    const withFault = [
      { f: "nemesis", type: "info", process: -1, time: 0.5, value: { fault: "postgres-crash", phase: "start" } },
      ...repaired,
    ] as Operation[];
    expect(checks(withFault)).toEqual([]);
  });

  it("says so when a history has no final observation", () => {
    expect(checks(history().slice(0, -1))).toEqual(["real-outcome"]);
  });
});
