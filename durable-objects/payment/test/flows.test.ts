import {
  type FlowDefinition,
  FlowMachine,
  type FlowOptions,
  RETRY_AFTER_COMPENSABLE_FOR_MS,
} from "@edgebank/durable-objects/flow";
import { describe, expect, it } from "vitest";
import { MemoryStorage, Unavailable, World } from "../../transfer/test/fakes.ts";
import {
  type PaymentStep,
  type PaymentSubject,
  paymentFlow,
  type RefundStep,
  type RefundSubject,
  refundFlow,
} from "../src/index.ts";

/** The machines' clock: each retry moves it on by a minute. */
let clock = Date.parse("2026-12-03T10:00:00Z");

const payment = (over: Partial<PaymentSubject> = {}): PaymentSubject => ({
  id: "pay_1",
  payerAccountId: "acc_payer",
  merchantAccountId: "acc_shop",
  amount: "40",
  currency: "EUR",
  description: "Payment inv-1 to mer_1",
  authorizationExpiresAt: new Date(clock + 900_000).toISOString(),
  ...over,
});

const refund = (over: Partial<RefundSubject> = {}): RefundSubject => ({
  id: "ref_1",
  paymentId: "pay_1",
  merchantAccountId: "acc_shop",
  payerAccountId: "acc_payer",
  amount: "15",
  currency: "EUR",
  description: "Refund of payment inv-1 (pay_1)",
  ...over,
});

/** A flow over `storage`: a new machine is a new Durable Object instance (after a crash). */
function machine<S extends string, D>(
  definition: FlowDefinition<S, D>,
  storage: MemoryStorage<S, D>,
  options: Partial<FlowOptions<S>> = {},
) {
  return new FlowMachine(definition, storage, {
    transient: (error) => (error instanceof Unavailable ? error.message : undefined),
    now: () => clock,
    afterTransientFailure: (input) => {
      clock += 60_000;
      const giveUp = input.compensable
        ? input.attempts >= 8
        : input.nowMs - input.failingSinceMs >= RETRY_AFTER_COMPENSABLE_FOR_MS;
      return giveUp ? "give_up" : { retryInMs: 100 };
    },
    ...options,
  });
}

/** Runs the flow as its alarm would, until it ends (or waits) or the limit of wake-ups is reached. */
async function drive<S extends string, D>(definition: FlowDefinition<S, D>, storage: MemoryStorage<S, D>) {
  for (let i = 0; i < 50 && storage.state?.status === "RUNNING"; i++) {
    try {
      await machine(definition, storage).run();
    } catch {
      // an unexpected error: the alarm runs the flow again
    }
  }
  return storage.state;
}

/** A crash (the object dies) once, at `point` (`<step>:before|after`). */
function crashOnceAt<S extends string>(point: string) {
  let armed = true;
  const crash = async (where: string) => {
    if (armed && where === point) {
      armed = false;
      throw new Error(`crash at ${where}`);
    }
  };
  return { before: (step: S) => crash(`${step}:before`), after: (step: S) => crash(`${step}:after`) };
}

const steps = (state: { history: Array<{ step: string; event: string }> } | undefined) =>
  state?.history.filter((entry) => entry.event === "done").map((entry) => entry.step);

describe("a payment on the flow machine", () => {
  const newWorld = () => new World({ acc_payer: 100n, acc_shop: 0n });

  it("authorizes, captures, credits the merchant, records and completes", async () => {
    const world = newWorld();
    const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
    const flow = machine(paymentFlow(world), storage);
    await flow.start(payment());
    const done = await flow.run();
    expect(done).toMatchObject({ status: "COMPLETED" });
    expect(steps(done)).toEqual(["authorize", "capture", "credit", "record", "complete"]);
    expect(world.applied).toEqual(["pay_1:authorize", "pay_1:capture", "pay_1:credit"]);
    expect(world.balances.get("acc_payer")).toBe(60n);
    expect(world.balances.get("acc_shop")).toBe(40n);
    expect(world.holds.size).toBe(0);
    expect(world.ledger).toEqual([
      {
        transferId: "pay_1",
        description: "Payment inv-1 to mer_1",
        postings: [
          { accountId: "acc_payer", amount: "-40", currency: "EUR" },
          { accountId: "acc_shop", amount: "40", currency: "EUR" },
        ],
      },
    ]);
    expect(world.settled).toEqual([{ transferId: "pay_1", status: "COMPLETED" }]);
    expect(storage.saves).toBe(6); // the start, then one write per step
  });

  it("a refused authorization fails with the account's reason and moves nothing", async () => {
    const world = new World({ acc_payer: 10n, acc_shop: 0n });
    const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
    await machine(paymentFlow(world), storage).start(payment());
    const done = await drive(paymentFlow(world), storage);
    expect(done).toMatchObject({ status: "FAILED", reason: "insufficient_funds" });
    expect(world.applied).toEqual([]);
    expect(world.settled).toEqual([{ transferId: "pay_1", status: "FAILED", reason: "insufficient_funds" }]);
  });

  it("a merchant account that refuses the credit gets the captured money back to the payer", async () => {
    const world = newWorld();
    world.frozen.add("acc_shop");
    const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
    await machine(paymentFlow(world), storage).start(payment());
    const done = await drive(paymentFlow(world), storage);
    expect(done).toMatchObject({ status: "FAILED", reason: "merchant_account_frozen" });
    expect(world.applied).toEqual(["pay_1:authorize", "pay_1:capture", "pay_1:return"]);
    expect(world.balances.get("acc_payer")).toBe(100n);
    expect(world.balances.get("acc_shop")).toBe(0n);
    expect(world.ledger).toEqual([]);
  });

  it("an authorization that lapsed before the capture fails as expired, nothing taken", async () => {
    const world = newWorld();
    const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
    const faults = {
      // The hold expires (its alarm released it) just before the capture.
      before: async (step: PaymentStep) => {
        if (step === "capture") world.holds.clear();
      },
    };
    const flow = machine(paymentFlow(world), storage, { faults });
    await flow.start(payment());
    const done = await flow.run();
    expect(done).toMatchObject({ status: "FAILED", reason: "authorization_expired" });
    expect(steps(done)).toEqual(["authorize", "capture", "release", "fail"]);
    expect(world.balances.get("acc_payer")).toBe(100n);
    expect(world.balances.get("acc_shop")).toBe(0n);
  });

  it("gives up on an authorization that keeps failing: the hold is let go, the payment fails as unavailable", async () => {
    const world = newWorld();
    world.failNext = 8;
    const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
    await machine(paymentFlow(world), storage).start(payment());
    const done = await drive(paymentFlow(world), storage);
    expect(done).toMatchObject({ status: "FAILED", reason: "authorize_unavailable" });
    expect(world.holds.size).toBe(0);
    expect(world.balances.get("acc_payer")).toBe(100n);
  });

  it("a ledger that refuses the entry leaves it for an operator, who may retry but not compensate", async () => {
    const world = newWorld();
    world.refuseLedger = true;
    const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
    await machine(paymentFlow(world), storage).start(payment());
    const stuck = await drive(paymentFlow(world), storage);
    expect(stuck).toMatchObject({ status: "NEEDS_ATTENTION", resumeAt: "record", reason: "ledger_refused: conflict" });
    expect(world.settled.at(-1)).toMatchObject({ status: "NEEDS_ATTENTION" });
    await expect(machine(paymentFlow(world), storage).compensation()).resolves.toMatchObject({
      refused: expect.stringContaining("retry the payment"),
    });
    world.refuseLedger = false;
    await machine(paymentFlow(world), storage).retry();
    const done = await drive(paymentFlow(world), storage);
    expect(done?.status).toBe("COMPLETED");
    expect(world.applied).toEqual(["pay_1:authorize", "pay_1:capture", "pay_1:credit"]);
    expect(world.ledger).toHaveLength(1);
  });

  it.each(
    ["authorize", "capture", "credit", "record", "complete"].flatMap((step) => [`${step}:before`, `${step}:after`]),
  )("a crash at %s resumes where it stopped and applies every operation once", async (point) => {
    const world = newWorld();
    const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
    await machine(paymentFlow(world), storage).start(payment());
    const faults = crashOnceAt<PaymentStep>(point);
    await expect(machine(paymentFlow(world), storage, { faults }).run()).rejects.toThrow(`crash at ${point}`);
    const done = await drive(paymentFlow(world), storage);
    expect(done?.status).toBe("COMPLETED");
    expect(world.applied).toEqual(["pay_1:authorize", "pay_1:capture", "pay_1:credit"]);
    expect(world.ledger).toHaveLength(1);
    expect(world.balances.get("acc_payer")).toBe(60n);
    expect(world.balances.get("acc_shop")).toBe(40n);
  });

  it.each(["authorize", "capture", "credit", "record", "complete"] as const)(
    "a crash after %s's side effect, before its outcome is stored, replays the step harmlessly",
    async (step) => {
      const world = newWorld();
      const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
      await machine(paymentFlow(world), storage).start(payment());
      const faults = {
        before: async (at: PaymentStep) => {
          if (at === step) world.crashAfterNext = true;
        },
      };
      await expect(machine(paymentFlow(world), storage, { faults }).run()).rejects.toThrow("crashed after");
      const done = await drive(paymentFlow(world), storage);
      expect(done?.status).toBe("COMPLETED");
      expect(world.applied).toEqual(["pay_1:authorize", "pay_1:capture", "pay_1:credit"]);
      expect(world.balances.get("acc_payer")).toBe(60n);
      expect(world.balances.get("acc_shop")).toBe(40n);
    },
  );
});

describe("an order's payment on the flow machine", () => {
  const newWorld = () => new World({ acc_payer: 100n, acc_shop: 0n });
  const order = () => payment({ orderId: "ord_1" });

  it("waits, authorized, with nothing to wake it, until its stock is reserved; the first signal wins", async () => {
    const world = newWorld();
    const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
    const flow = machine(paymentFlow(world), storage);
    await flow.start(order());
    const waiting = await flow.run();
    expect(waiting).toMatchObject({ status: "WAITING", step: "await_stock" });
    expect(world.settled).toEqual([{ transferId: "pay_1", status: "AUTHORIZED" }]);
    expect(world.holds.get("pay_1:hold")).toMatchObject({ amount: 40n });
    expect(storage.cancelled).toBe(1); // no alarm left while it waits
    await expect(flow.outcome(1_000)).resolves.toMatchObject({ status: "WAITING" }); // an answer, at once

    await expect(flow.proceed("await_stock", "capture")).resolves.toMatchObject({ status: "RUNNING", step: "capture" });
    // A void that comes second finds nothing waiting and changes nothing.
    await expect(flow.proceed("await_stock", "void", "order_cancelled")).resolves.toMatchObject({ step: "capture" });
    const done = await drive(paymentFlow(world), storage);
    expect(done).toMatchObject({ status: "COMPLETED" });
    expect(world.applied).toEqual(["pay_1:authorize", "pay_1:capture", "pay_1:credit"]);
    expect(world.balances.get("acc_shop")).toBe(40n);
  });

  it("voided while it waits: the hold is released, VOIDED with the reason, and a late capture changes nothing", async () => {
    const world = newWorld();
    const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
    await machine(paymentFlow(world), storage).start(order());
    await drive(paymentFlow(world), storage);
    await machine(paymentFlow(world), storage).proceed("await_stock", "void", "out_of_stock");
    const done = await drive(paymentFlow(world), storage);
    expect(done).toMatchObject({ status: "FAILED", reason: "out_of_stock", step: "voided" });
    expect(world.settled.at(-1)).toEqual({ transferId: "pay_1", status: "VOIDED", reason: "out_of_stock" });
    expect(world.holds.size).toBe(0);
    expect(world.applied).toEqual(["pay_1:authorize", "pay_1:release"]);
    await expect(machine(paymentFlow(world), storage).proceed("await_stock", "capture")).resolves.toMatchObject({
      status: "FAILED",
    });
    expect(world.balances.get("acc_payer")).toBe(100n);
  });

  it.each(["authorize", "authorized", "void", "voided"].flatMap((step) => [`${step}:before`, `${step}:after`]))(
    "a crash at %s on the way to a void resumes and releases once",
    async (point) => {
      const world = newWorld();
      const storage = new MemoryStorage<PaymentStep, PaymentSubject>();
      const faults = crashOnceAt<PaymentStep>(point);
      const status = () => storage.state?.status;
      /** Runs it (crashing once at the point) as its alarms would, until it is no longer RUNNING. */
      const runCrashing = async () => {
        for (let i = 0; i < 5 && status() === "RUNNING"; i++) {
          await machine(paymentFlow(world), storage, { faults })
            .run()
            .catch(() => undefined);
        }
      };
      await machine(paymentFlow(world), storage).start(order());
      await runCrashing();
      expect(status()).toBe("WAITING");
      await machine(paymentFlow(world), storage).proceed("await_stock", "void", "out_of_stock");
      await runCrashing();
      const done = await drive(paymentFlow(world), storage);
      expect(done).toMatchObject({ status: "FAILED", reason: "out_of_stock" });
      expect(world.applied).toEqual(["pay_1:authorize", "pay_1:release"]);
      expect(world.settled.filter((s) => s.status === "VOIDED")).toHaveLength(1);
    },
  );
});

describe("a refund on the flow machine", () => {
  /** After a completed payment of 40: the merchant has it, the payer 60. */
  const newWorld = () => new World({ acc_payer: 60n, acc_shop: 40n });

  it("debits the merchant, credits the payer, records and completes", async () => {
    const world = newWorld();
    const storage = new MemoryStorage<RefundStep, RefundSubject>();
    const flow = machine(refundFlow(world), storage);
    await flow.start(refund());
    const done = await flow.run();
    expect(done?.status).toBe("COMPLETED");
    expect(world.applied).toEqual(["ref_1:debit", "ref_1:credit"]);
    expect(world.balances.get("acc_shop")).toBe(25n);
    expect(world.balances.get("acc_payer")).toBe(75n);
    expect(world.ledger).toEqual([
      {
        transferId: "ref_1",
        description: "Refund of payment inv-1 (pay_1)",
        postings: [
          { accountId: "acc_shop", amount: "-15", currency: "EUR" },
          { accountId: "acc_payer", amount: "15", currency: "EUR" },
        ],
      },
    ]);
    expect(world.settled).toEqual([{ transferId: "ref_1", status: "COMPLETED" }]);
  });

  it("a merchant without the balance: FAILED with the reason, nothing moved", async () => {
    const world = new World({ acc_payer: 60n, acc_shop: 5n });
    const storage = new MemoryStorage<RefundStep, RefundSubject>();
    await machine(refundFlow(world), storage).start(refund());
    const done = await drive(refundFlow(world), storage);
    expect(done).toMatchObject({ status: "FAILED", reason: "insufficient_funds" });
    expect(world.applied).toEqual([]);
    expect(world.settled).toEqual([{ transferId: "ref_1", status: "FAILED", reason: "insufficient_funds" }]);
  });

  it("a payer account that refuses the credit after the debit needs an operator, who cannot compensate it", async () => {
    const world = new World({ acc_shop: 40n });
    const storage = new MemoryStorage<RefundStep, RefundSubject>();
    await machine(refundFlow(world), storage).start(refund());
    const stuck = await drive(refundFlow(world), storage);
    expect(stuck).toMatchObject({ status: "NEEDS_ATTENTION", reason: "payer_account_not_found", resumeAt: "credit" });
    expect(world.settled.at(-1)).toMatchObject({ status: "NEEDS_ATTENTION", reason: "payer_account_not_found" });
    await expect(machine(refundFlow(world), storage).compensation()).resolves.toMatchObject({
      refused: expect.stringContaining("retry the refund"),
    });
  });

  it("gives up on a debit that keeps failing: replays it and gives back what it took", async () => {
    const world = newWorld();
    const storage = new MemoryStorage<RefundStep, RefundSubject>();
    await machine(refundFlow(world), storage).start(refund());
    // The first debit is applied but its answer is lost; then the service stays down.
    world.crashAfterNext = true;
    await machine(refundFlow(world), storage)
      .run()
      .catch(() => undefined);
    world.failNext = 8;
    const done = await drive(refundFlow(world), storage);
    expect(done).toMatchObject({ status: "FAILED", reason: "debit_unavailable" });
    expect(world.applied).toEqual(["ref_1:debit", "ref_1:reverse-debit"]);
    expect(world.balances.get("acc_shop")).toBe(40n);
    expect(world.balances.get("acc_payer")).toBe(60n);
  });

  it.each(["debit", "credit", "record", "complete"].flatMap((step) => [`${step}:before`, `${step}:after`]))(
    "a crash at %s resumes where it stopped and applies every operation once",
    async (point) => {
      const world = newWorld();
      const storage = new MemoryStorage<RefundStep, RefundSubject>();
      await machine(refundFlow(world), storage).start(refund());
      const faults = crashOnceAt<RefundStep>(point);
      await expect(machine(refundFlow(world), storage, { faults }).run()).rejects.toThrow(`crash at ${point}`);
      const done = await drive(refundFlow(world), storage);
      expect(done?.status).toBe("COMPLETED");
      expect(world.applied).toEqual(["ref_1:debit", "ref_1:credit"]);
      expect(world.ledger).toHaveLength(1);
      expect(world.balances.get("acc_shop")).toBe(25n);
      expect(world.balances.get("acc_payer")).toBe(75n);
    },
  );
});
