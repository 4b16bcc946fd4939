import { FlowMachine, type FlowOptions, RETRY_AFTER_COMPENSABLE_FOR_MS } from "@edgebank/durable-objects/flow";
import { describe, expect, it } from "vitest";
import { COMPENSATED_BY_OPERATOR, type TransferStep, type TransferSubject, transferFlow } from "../src/index.ts";
import { MemoryStorage, Unavailable, World } from "./fakes.ts";

const subject = (over: Partial<TransferSubject> = {}): TransferSubject => ({
  id: "trf_1",
  kind: "transfer",
  fromAccountId: "acc_a",
  toAccountId: "acc_b",
  amount: "30",
  currency: "EUR",
  description: "rent",
  ...over,
});

/** The machines' clock: each retry moves it on by a minute; it never goes back. */
let clock = Date.parse("2026-12-03T08:00:00Z");

/** A transfer's flow over `storage`: a new machine is a new Durable Object instance (after a crash). */
function machine(world: World, storage: MemoryStorage, options: Partial<FlowOptions<TransferStep>> = {}) {
  return new FlowMachine(
    transferFlow(world, () => clock),
    storage,
    {
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
    },
  );
}

/** Runs the flow as its alarm would, until it ends or the limit of wake-ups is reached. */
async function drive(world: World, storage: MemoryStorage, wakeUps = 50) {
  for (let i = 0; i < wakeUps && storage.state?.status === "RUNNING"; i++) {
    try {
      await machine(world, storage).run();
    } catch {
      // an unexpected error: the alarm runs the flow again
    }
  }
  return storage.state;
}

describe("a transfer on the flow machine", () => {
  it("holds, credits, captures, records and completes, each step's intent and outcome stored", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    const storage = new MemoryStorage();
    const flow = machine(world, storage);
    await flow.start(subject());
    const done = await flow.run();
    expect(done?.status).toBe("COMPLETED");
    expect(world.applied).toEqual(["trf_1:hold", "trf_1:credit", "trf_1:capture"]);
    expect(world.balances.get("acc_a")).toBe(70n);
    expect(world.balances.get("acc_b")).toBe(30n);
    expect(world.ledger).toHaveLength(1);
    expect(world.settled).toEqual([{ transferId: "trf_1", status: "COMPLETED" }]);
    // The settlement's answer is the flow's result: what the route answers with.
    expect(done?.result).toEqual({ answered: "trf_1:COMPLETED" });
    expect(done?.history.map((entry) => `${entry.step}:${entry.event}`)).toEqual([
      "hold:started",
      "hold:done",
      "credit:started",
      "credit:done",
      "capture:started",
      "capture:done",
      "record:started",
      "record:done",
      "complete:started",
      "complete:done",
    ]);
    expect(storage.wakeAts).toHaveLength(1); // woken once, by start
    expect(storage.saves).toBe(6); // the start, then one write per step (its outcome and the next intent)
    expect(storage.cancelled).toBe(1); // ended: no wake-up left behind
  });

  it("run by its caller, it is woken only as a backstop, and one run at a time", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    const storage = new MemoryStorage();
    const flow = machine(world, storage);
    await flow.start(subject(), 2_000);
    expect(storage.wakeAts).toEqual([clock + 2_000]);
    const first = flow.run();
    expect(flow.running).toBe(true);
    await expect(flow.run()).resolves.toBeUndefined(); // a wake-up during the run does nothing
    expect((await first)?.status).toBe("COMPLETED");
    expect(flow.running).toBe(false);
    expect(world.applied).toEqual(["trf_1:hold", "trf_1:credit", "trf_1:capture"]);
  });

  it("starts once: a second start with other data changes nothing", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject());
    const again = await machine(world, storage).start(subject({ amount: "99" }));
    expect(again.subject.amount).toBe("30");
    expect(storage.wakeAts).toHaveLength(1);
  });

  it("a refused hold fails the transfer with the account's reason and moves nothing", async () => {
    const world = new World({ acc_a: 10n, acc_b: 0n });
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject());
    const done = await machine(world, storage).run();
    expect(done).toMatchObject({ status: "FAILED", reason: "insufficient_funds" });
    expect(world.applied).toEqual([]);
    expect(world.settled).toEqual([{ transferId: "trf_1", status: "FAILED", reason: "insufficient_funds" }]);
  });

  it("a customer's transfer from an account that is not theirs fails as if it did not exist, nothing held", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    world.owners.set("acc_a", "usr_someone_else");
    const storage = new MemoryStorage();
    const flow = machine(world, storage);
    await flow.start(subject({ ownedBy: "usr_owner" }));
    const done = await flow.run();
    expect(done).toMatchObject({ status: "FAILED", reason: "source_not_found" });
    expect(world.applied).toEqual([]);
    expect(world.holds.size).toBe(0);
    // From their own account, it goes through.
    world.balances.set("acc_b", 50n);
    const own = new MemoryStorage();
    const theirs = machine(world, own);
    await theirs.start(subject({ id: "trf_2", fromAccountId: "acc_b", toAccountId: "acc_a", ownedBy: "usr_owner" }));
    await expect(theirs.run()).resolves.toMatchObject({ status: "COMPLETED" });
    expect(world.balances.get("acc_b")).toBe(20n);
  });

  it("a refused credit releases the hold and fails with the destination's reason", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    world.frozen.add("acc_b");
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject());
    const done = await machine(world, storage).run();
    expect(done).toMatchObject({ status: "FAILED", reason: "account_frozen" });
    expect(world.applied).toEqual(["trf_1:hold", "trf_1:release"]);
    expect(world.holds.size).toBe(0);
    expect(world.balances.get("acc_a")).toBe(100n);
  });

  it("a deposit credits a frozen account (money may always come in)", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    world.frozen.add("acc_b");
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject({ kind: "deposit" }));
    expect((await machine(world, storage).run())?.status).toBe("COMPLETED");
  });

  it("retries a transient failure later with the same operation id, then goes on", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject());
    world.failNext = 1;
    const waiting = await machine(world, storage).run();
    expect(waiting).toMatchObject({ status: "RUNNING", step: "hold", attempts: 1 });
    expect(waiting?.failingSince).toBeDefined();
    expect(storage.wakeAts).toHaveLength(2); // start, then the retry's alarm
    const done = await machine(world, storage).run();
    expect(done?.status).toBe("COMPLETED");
    expect(done?.attempts).toBe(0);
    expect(done?.failingSince).toBeUndefined();
    expect(world.applied.filter((id) => id === "trf_1:hold")).toHaveLength(1);
  });

  it("gives up on a hold that keeps failing: nothing moved, the transfer fails as unavailable", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject());
    world.failNext = 8;
    const done = await drive(world, storage);
    expect(done).toMatchObject({ status: "FAILED", reason: "hold_unavailable" });
    expect(world.applied).toEqual([]);
  });

  it("a step after the credit rides out an outage for 15 minutes, then needs an operator, whose retry finishes it", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject());
    // hold, credit and capture go through; the ledger is down for longer than the step waits.
    const flow = machine(world, storage);
    const original = world.record.bind(world);
    world.record = async () => {
      throw new Unavailable("ledger unavailable");
    };
    await flow.run();
    const stuck = await drive(world, storage, 40);
    expect(stuck).toMatchObject({ status: "NEEDS_ATTENTION", reason: "record_unavailable", resumeAt: "record" });
    expect(world.settled.at(-1)).toMatchObject({ status: "NEEDS_ATTENTION" });
    expect(stuck?.result).toEqual({ answered: "trf_1:NEEDS_ATTENTION" });
    await expect(machine(world, storage).compensation()).resolves.toEqual({ step: "reverse_credit" });
    world.record = original;
    const resumed = await machine(world, storage).retry();
    expect(resumed).toMatchObject({ status: "RUNNING", step: "record" });
    expect(resumed?.reason).toBeUndefined();
    expect(resumed?.result).toBeUndefined(); // the stop's answer is not the end's
    const done = await machine(world, storage).run();
    expect(done?.status).toBe("COMPLETED");
    expect(done?.result).toEqual({ answered: "trf_1:COMPLETED" });
    expect(world.applied).toEqual(["trf_1:hold", "trf_1:credit", "trf_1:capture"]);
  });

  it("an operator's compensation after the capture takes the credit back and returns the captured money", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    world.refuseLedger = true;
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject());
    const stuck = await machine(world, storage).run();
    expect(stuck).toMatchObject({ status: "NEEDS_ATTENTION", resumeAt: "record" });
    await machine(world, storage).compensate();
    const done = await machine(world, storage).run();
    expect(done).toMatchObject({ status: "FAILED", reason: COMPENSATED_BY_OPERATOR });
    expect(world.balances.get("acc_a")).toBe(100n);
    expect(world.balances.get("acc_b")).toBe(0n);
    expect(world.applied).toEqual([
      "trf_1:hold",
      "trf_1:credit",
      "trf_1:capture",
      "trf_1:reverse-credit",
      "trf_1:return-capture",
    ]);
  });

  it("a refused undo goes back to an operator, and the next round uses new operation ids", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    world.refuseLedger = true;
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject());
    await machine(world, storage).run();
    world.balances.set("acc_b", 0n); // the destination spent the money meanwhile
    await machine(world, storage).compensate();
    const refused = await machine(world, storage).run();
    expect(refused).toMatchObject({ status: "NEEDS_ATTENTION", round: 1, resumeAt: "reverse_credit" });
    expect(refused?.reason).toMatch(/^reversal_refused: insufficient_funds/);
    world.balances.set("acc_b", 30n);
    await machine(world, storage).compensate();
    const done = await machine(world, storage).run();
    expect(done).toMatchObject({ status: "FAILED", reason: COMPENSATED_BY_OPERATOR });
    expect(world.applied).toContain("trf_1:reverse-credit:1");
    expect(world.applied).not.toContain("trf_1:reverse-credit");
  });

  it("refuses operator actions on a flow that does not wait for one, and compensation once it is in the ledger", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject());
    await expect(machine(world, storage).retry()).rejects.toThrow("The flow is RUNNING.");
    await expect(machine(world, storage).compensation()).resolves.toEqual({ refused: "The flow is RUNNING." });
    await machine(world, storage).run();
    await expect(machine(world, storage).compensate()).rejects.toThrow("The flow is COMPLETED.");
    // Stopped at its last step (already in the ledger): only a new transfer can reverse it.
    const settledDown = new World({ acc_a: 100n, acc_b: 0n });
    const late = new MemoryStorage();
    await machine(settledDown, late).start(subject());
    const original = settledDown.settle.bind(settledDown);
    settledDown.settle = async (id: string, outcome: { status: string; reason?: string }) => {
      if (outcome.status === "COMPLETED") throw new Unavailable("database unavailable");
      return original(id, outcome);
    };
    const stuck = await drive(settledDown, late, 40);
    expect(stuck).toMatchObject({ status: "NEEDS_ATTENTION", resumeAt: "complete" });
    await expect(machine(settledDown, late).compensation()).resolves.toMatchObject({
      refused: expect.stringContaining("recorded in the ledger"),
    });
  });

  const boundaries = ["hold", "credit", "capture", "record", "complete"] as const;

  it.each(boundaries.flatMap((step) => [`${step}:before`, `${step}:after`]))(
    "a crash at %s resumes where it stopped and applies every operation once",
    async (point) => {
      const world = new World({ acc_a: 100n, acc_b: 0n });
      const storage = new MemoryStorage();
      await machine(world, storage).start(subject());
      let armed = true;
      const crash = async (where: string) => {
        if (armed && where === point) {
          armed = false;
          throw new Error(`crash at ${where}`);
        }
      };
      const faults = {
        before: (step: TransferStep) => crash(`${step}:before`),
        after: (step: TransferStep) => crash(`${step}:after`),
      };
      await expect(machine(world, storage, { faults }).run()).rejects.toThrow(`crash at ${point}`);
      const done = await drive(world, storage);
      expect(done?.status).toBe("COMPLETED");
      expect(world.applied).toEqual(["trf_1:hold", "trf_1:credit", "trf_1:capture"]);
      expect(world.ledger).toHaveLength(1);
      expect(world.balances.get("acc_a")).toBe(70n);
      expect(world.balances.get("acc_b")).toBe(30n);
    },
  );

  it.each(boundaries)(
    "a crash after %s's side effect, before its outcome is stored, replays the step harmlessly",
    async (step) => {
      const world = new World({ acc_a: 100n, acc_b: 0n });
      const storage = new MemoryStorage();
      await machine(world, storage).start(subject());
      // Run up to the step, then lose the answer of its side effect.
      const faults = {
        before: async (at: TransferStep) => {
          if (at === step) world.crashAfterNext = true;
        },
      };
      await expect(machine(world, storage, { faults }).run()).rejects.toThrow("crashed after the side effect");
      expect(storage.state?.history.at(-1)).toMatchObject({ step, event: "started" });
      const done = await drive(world, storage);
      expect(done?.status).toBe("COMPLETED");
      expect(world.applied).toEqual(["trf_1:hold", "trf_1:credit", "trf_1:capture"]);
      expect(world.balances.get("acc_a")).toBe(70n);
      expect(world.balances.get("acc_b")).toBe(30n);
    },
  );

  it("a refusal injected by a test fault needs an operator, as a callee's refusal would", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    const storage = new MemoryStorage();
    await machine(world, storage).start(subject());
    const faults = {
      refusal: async (step: TransferStep) =>
        step === "capture"
          ? { step: "escalate" as const, status: "RUNNING" as const, reason: "capture_refused: injected" }
          : undefined,
    };
    const stuck = await machine(world, storage, { faults }).run();
    expect(stuck).toMatchObject({
      status: "NEEDS_ATTENTION",
      resumeAt: "capture",
      reason: "capture_refused: injected",
    });
    expect(world.applied).toEqual(["trf_1:hold", "trf_1:credit"]);
  });

  it("waits for a running flow's end, and answers at once once it ended", async () => {
    const world = new World({ acc_a: 100n, acc_b: 0n });
    const storage = new MemoryStorage();
    const flow = machine(world, storage);
    await flow.start(subject());
    const waiting = flow.outcome(5_000);
    await flow.run();
    expect((await waiting)?.status).toBe("COMPLETED");
    expect((await flow.outcome(5_000))?.status).toBe("COMPLETED");
  });
});
