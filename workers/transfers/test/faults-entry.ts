/**
 * The transfers Worker as the e2e suites run it (`EDGEBANK_TEST_FAULTS=true`): src/index.ts with
 * its saga object able to crash or be refused at a step boundary, armed by a request's
 * `X-Test-Crash-At` / `X-Test-Refuse-At` headers (see @edgebank/durable-objects/flow/testing).
 * A bad version for rollout tests, too: `EDGEBANK_CANARY_FAULT` (set by `npm run dev -- --version
 * transfers=5xx:<share>` on the second version only) answers that share of transfer requests with
 * a 503 before anything is done, measured as the app measures its answers.
 * Never deployed: production runs src/index.ts, which has none of it.
 */
import { withFaultHeaders, withTestFaults } from "@edgebank/durable-objects/flow/testing";
import { transferSteps } from "@edgebank/durable-objects/transfer";
import { flushMetrics, reportingDurableObject, versionIdOf, writeDataPoint } from "@edgebank/http";
import worker from "../src/index.ts";
import { TransferSagaDO as TransferSagaDOClass } from "../src/saga/transfer-saga-do.ts";

export * from "../src/index.ts";

export const TransferSagaDO = reportingDurableObject("transfers", withTestFaults(TransferSagaDOClass));
const faulty = withFaultHeaders(worker, [{ binding: "TRANSFER_SAGA", steps: transferSteps }]);

export default {
  ...faulty,
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const fault = /^5xx:([0-9.]+)$/.exec((env as { EDGEBANK_CANARY_FAULT?: string }).EDGEBANK_CANARY_FAULT ?? "");
    const transfer = request.method === "POST" && new URL(request.url).pathname === "/v1/transfers";
    if (fault && transfer && Math.random() < Number(fault[1])) {
      // Measured as the app measures its answers: a version's 5xx is what its rollout judges.
      writeDataPoint(env, {
        indexes: ["http_request"],
        blobs: ["transfers", versionIdOf(env) ?? "dev", "/v1/transfers", "POST", "5xx"],
        doubles: [0, 503],
      });
      ctx.waitUntil(flushMetrics(env));
      return Response.json(
        { type: "about:blank", title: "Injected by the canary fault", status: 503 },
        { status: 503, headers: { "content-type": "application/problem+json" } },
      );
    }
    return faulty.fetch?.(request, env, ctx) ?? new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
