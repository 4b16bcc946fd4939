import { describe, expect, it } from "vitest";
import { callRpc } from "../src/rpc-client.ts";
import { TransientFailure } from "../src/transient.ts";

describe("callRpc", () => {
  it("passes the callee's results through, refusals included, without retrying them", async () => {
    let calls = 0;
    const refused = await callRpc(`callee-${crypto.randomUUID()}`, "operate", async () => {
      calls += 1;
      return { status: "refused" as const, reason: "insufficient_funds" };
    });
    expect(refused).toEqual({ status: "refused", reason: "insufficient_funds" });
    expect(calls).toBe(1);
  });

  it("retries a call that threw once, then answers what the retry returned", async () => {
    let calls = 0;
    const result = await callRpc(`callee-${crypto.randomUUID()}`, "operate", async () => {
      calls += 1;
      if (calls === 1) throw new Error("the object was reset");
      return { status: "applied" as const };
    });
    expect(result).toEqual({ status: "applied" });
    expect(calls).toBe(2);
  });

  it("turns a callee that keeps failing into one TransientFailure naming the method", async () => {
    let calls = 0;
    const failing = callRpc(`callee-${crypto.randomUUID()}`, "record", async () => {
      calls += 1;
      throw new Error("database unreachable");
    });
    await expect(failing).rejects.toBeInstanceOf(TransientFailure);
    await expect(failing).rejects.toMatchObject({ what: expect.stringContaining("record: database unreachable") });
    expect(calls).toBe(2);
  });

  it("hands the call no traceparent outside a trace", async () => {
    const seen: Array<string | undefined> = [];
    await callRpc(`callee-${crypto.randomUUID()}`, "summary", async (traceparent) => {
      seen.push(traceparent);
      return { status: "found" as const };
    });
    expect(seen).toEqual([undefined]);
  });
});
