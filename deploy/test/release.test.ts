import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { exitCodeOf, follow, type RolloutView, startRollout } from "../release.ts";

const view = (status: string, canaryPercentage: number, details: string[]): RolloutView => ({
  id: "rol_1",
  worker: "edgebank-transfers-staging",
  canaryVersionId: "v2",
  status,
  canaryPercentage,
  reason: null,
  history: details.map((detail, i) => ({ at: `2026-12-06T10:00:0${i}.000Z`, kind: "step", by: "controller", detail })),
});

describe("npm run release", () => {
  it("prints each history entry once, polling until the rollout ends, and exits by its outcome", async () => {
    const views = [
      view("PROBING", 0, ["started"]),
      view("STEPPING", 5, ["started", "probes passed", "5 %"]),
      view("STEPPING", 5, ["started", "probes passed", "5 %"]),
      view("ROLLED_BACK", 0, ["started", "probes passed", "5 %", "Failed: 5xx ratio 20.00 %"]),
    ];
    const lines: string[] = [];
    let sleeps = 0;
    const last = await follow(
      async () => views.shift() ?? view("ROLLED_BACK", 0, []),
      (line) => lines.push(line),
      async () => {
        sleeps += 1;
      },
    );
    expect(last.status).toBe("ROLLED_BACK");
    expect(sleeps).toBe(3);
    expect(lines).toEqual([
      "10:00:00    0 %  step     started",
      "10:00:01    5 %  step     probes passed",
      "10:00:02    5 %  step     5 %",
      "10:00:03    0 %  step     Failed: 5xx ratio 20.00 %",
    ]);
    expect([exitCodeOf("PROMOTED"), exitCodeOf("ROLLED_BACK"), exitCodeOf("ABORTED"), exitCodeOf("PAUSED")]).toEqual([
      0, 1, 1, 2,
    ]);
  });

  it("stops following a paused rollout (it waits for an operator)", async () => {
    const last = await follow(
      async () => view("PAUSED", 25, ["paused"]),
      () => {},
      async () => {
        throw new Error("a paused rollout is not polled");
      },
    );
    expect(last.status).toBe("PAUSED");
  });

  it("starts a rollout through the operator API, with the operator's token; an existing one is said so", async () => {
    const seen: { authorization?: string; body: unknown }[] = [];
    const server = createServer(async (request, response) => {
      let body = "";
      for await (const chunk of request) body += chunk;
      seen.push({ authorization: request.headers.authorization, body: JSON.parse(body) });
      const status = seen.length === 1 ? 201 : seen.length === 2 ? 200 : 409;
      response
        .writeHead(status, { "content-type": "application/json" })
        .end(JSON.stringify(view("PROBING", 0, ["started"])));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const start = { service: "transfers", versionId: "v2" };
    expect(await startRollout(api, "op-token", start)).toMatchObject({
      alreadyUnderWay: false,
      rollout: { id: "rol_1" },
    });
    expect((await startRollout(api, "op-token", start)).alreadyUnderWay).toBe(true);
    await expect(startRollout(api, "op-token", start)).rejects.toThrow(/did not start \(409\)/);
    expect(seen[0]).toEqual({ authorization: "Bearer op-token", body: start });
  });
});
