/**
 * The gateway as the test builds run it (`EDGEBANK_TEST_FAULTS=true`): src/index.ts, with one
 * deliberate bug the chaos checker must catch, switched on by `EDGEBANK_BROKEN=stale-answer`
 * (see @edgebank/durable-objects/flow/testing): a repeat of a completed transfer's
 * Idempotency-Key answered with a stale 202 PENDING instead of its real outcome, as an edge
 * cache that kept the first, unfinished answer would. Never deployed: production runs
 * src/index.ts.
 */
import { hits, isBroken } from "@edgebank/durable-objects/flow/testing";
import worker from "../src/index.ts";

export * from "../src/index.ts";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const response = await worker.fetch(request, env, ctx);
    const key = request.headers.get("idempotency-key") ?? "";
    const staleable =
      isBroken(env, "stale-answer") &&
      request.method === "POST" &&
      new URL(request.url).pathname.startsWith("/v1/transfers") &&
      response.status === 201 &&
      response.headers.get("idempotent-replayed") === "true" &&
      hits(key);
    if (!staleable) return response;
    const { completedAt: _, ...transfer } = (await response.json()) as Record<string, unknown>;
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    return new Response(JSON.stringify({ ...transfer, status: "PENDING" }), { status: 202, headers });
  },
} satisfies ExportedHandler<Env>;
