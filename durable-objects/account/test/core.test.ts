import { AppError } from "@edgebank/errors";
import { describe, expect, it } from "vitest";
import { AccountCore } from "../src/index.ts";
import { account, MemoryStore } from "./memory-store.ts";

const debit = (operationId: string, amount = 1n) => ({ kind: "debit" as const, operationId, amount });
const outcome = (p: Promise<unknown>) =>
  p.then(
    (r) => r,
    (e: unknown) => e,
  );

describe("AccountCore: serialization and group commit", () => {
  it("200 concurrent debits of 1 on an account holding 100: exactly 100 succeed", async () => {
    const store = new MemoryStore(account({ posted: 100n }));
    const core = new AccountCore("acc_test", store);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => core.submit(debit(`op-${i}`))));
    expect(results.filter((r) => r.status === "applied")).toHaveLength(100);
    expect(results.filter((r) => r.reason === "insufficient_funds")).toHaveLength(100);
    expect((await core.state()).posted).toBe(0n);
    expect(store.accounts.get("acc_test")?.posted).toBe(0n);
    expect(store.journal.filter((j) => j.result.status === "applied")).toHaveLength(100);
    // Group commit: far fewer transactions than operations.
    expect(store.commits).toBeLessThan(20);
  });

  it("the same operation id sent 50 times at once is applied once, and all 50 see the same result", async () => {
    const store = new MemoryStore(account({ posted: 100n }));
    const core = new AccountCore("acc_test", store);
    const results = await Promise.all(Array.from({ length: 50 }, () => core.submit(debit("op-same", 30n))));
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(results[0]).toMatchObject({ status: "applied", posted: "70" });
    expect(store.journal).toHaveLength(1);
    expect((await core.state()).posted).toBe(70n);
  });

  it("refuses an operation id reused with other parameters, without touching the account", async () => {
    const store = new MemoryStore(account({ posted: 100n }));
    const core = new AccountCore("acc_test", store);
    await core.submit(debit("op-1", 10n));
    const error = (await outcome(core.submit(debit("op-1", 20n)))) as { code?: string };
    expect(error.code).toBe("conflict");
    expect((await core.state()).posted).toBe(90n);
  });

  it("a failed commit fails its batch retryably, moves nothing, and a retry applies once", async () => {
    const store = new MemoryStore(account({ posted: 100n }));
    const core = new AccountCore("acc_test", store);
    store.failNextCommit = true;
    const failed = (await outcome(core.submit(debit("op-1", 40n)))) as { code?: string; retryable?: boolean };
    expect(failed.code).toBe("dependency_unavailable");
    expect(failed.retryable).toBe(true);
    expect((await core.state()).posted).toBe(100n);
    expect(await core.submit(debit("op-1", 40n))).toMatchObject({ status: "applied", posted: "60" });
    expect(store.journal).toHaveLength(1);
  });

  it("an ambiguous commit (written, answer lost) is not applied twice on retry", async () => {
    const store = new MemoryStore(account({ posted: 100n }));
    const core = new AccountCore("acc_test", store);
    store.loseNextAnswer = true;
    expect(((await outcome(core.submit(debit("op-1", 40n)))) as { code?: string }).code).toBe("dependency_unavailable");
    const retried = await core.submit(debit("op-1", 40n));
    expect(retried).toMatchObject({ status: "applied", posted: "60" });
    expect(store.accounts.get("acc_test")?.posted).toBe(60n);
    expect(store.journal).toHaveLength(1);
  });

  it("after eviction, a new instance answers a known operation id from the store", async () => {
    const store = new MemoryStore(account({ posted: 100n }));
    const first = new AccountCore("acc_test", store);
    const original = await first.submit(debit("op-1", 25n));
    const reborn = new AccountCore("acc_test", store);
    expect(await reborn.submit(debit("op-1", 25n))).toEqual(original);
    expect((await reborn.state()).posted).toBe(75n);
    expect(store.journal).toHaveLength(1);
  });

  it("after eviction, a batch mixing a journaled id with new ones answers the old and applies the new once", async () => {
    const store = new MemoryStore(account({ posted: 100n }));
    const original = await new AccountCore("acc_test", store).submit(debit("op-old", 30n));
    const reborn = new AccountCore("acc_test", store);
    const results = await Promise.all([
      reborn.submit(debit("op-new-1", 10n)),
      reborn.submit(debit("op-old", 30n)),
      reborn.submit(debit("op-new-2", 10n)),
    ]);
    expect(results[1]).toEqual(original);
    expect(results.map((r) => r.status)).toEqual(["applied", "applied", "applied"]);
    expect(store.accounts.get("acc_test")?.posted).toBe(50n);
    expect(store.journal.map((j) => j.operation.operationId).sort()).toEqual(["op-new-1", "op-new-2", "op-old"]);
    // The first attempt was refused whole by the journal's uniqueness; nothing was half-written.
    expect(store.commits).toBe(3);
  });

  it("looks nothing up in the store on the common path: one store call per batch", async () => {
    const store = new MemoryStore(account({ posted: 1_000n }));
    let lookups = 0;
    const find = store.findOperations.bind(store);
    store.findOperations = (accountId, ids) => {
      lookups += 1;
      return find(accountId, ids);
    };
    const core = new AccountCore("acc_test", store);
    await Promise.all(Array.from({ length: 100 }, (_, i) => core.submit(debit(`op-${i}`))));
    expect(lookups).toBe(0);
    expect(store.commits).toBeLessThan(10);
    expect(store.accounts.get("acc_test")?.posted).toBe(900n);
  });

  it("one refused operation does not fail the others of its batch", async () => {
    const store = new MemoryStore(account({ posted: 10n }));
    const core = new AccountCore("acc_test", store);
    const [big, small, credit] = await Promise.all([
      core.submit(debit("op-big", 50n)),
      core.submit(debit("op-small", 5n)),
      core.submit({ kind: "credit", operationId: "op-credit", amount: 100n }),
    ]);
    expect(big).toMatchObject({ status: "refused", reason: "insufficient_funds" });
    expect(small).toMatchObject({ status: "applied" });
    expect(credit).toMatchObject({ status: "applied", posted: "105" });
  });

  it("answers an operation on an account that does not exist with a final not_found, not a retry", async () => {
    const store = new MemoryStore();
    store.load = async () => {
      throw new AppError("not_found", "Account acc_missing does not exist.");
    };
    const error = (await outcome(new AccountCore("acc_missing", store).submit(debit("op-1")))) as AppError;
    expect(error.code).toBe("not_found");
    expect(error.retryable).toBe(false);
  });

  it("rejects malformed operations before they reach the queue", async () => {
    const core = new AccountCore("acc_test", new MemoryStore(account()));
    expect(((await outcome(core.submit(debit("op-0", 0n)))) as { code?: string }).code).toBe("validation_failed");
    expect(((await outcome(core.submit(debit("bad id with spaces", 1n)))) as { code?: string }).code).toBe(
      "validation_failed",
    );
  });
});
