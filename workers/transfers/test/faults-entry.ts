/**
 * The transfers Worker as the e2e suites run it (`EDGEBANK_TEST_FAULTS=true`): src/index.ts with
 * its saga object able to crash or be refused at a step boundary, armed by a request's
 * `X-Test-Crash-At` / `X-Test-Refuse-At` headers (see @edgebank/durable-objects/flow/testing).
 * A bad version for rollout tests, too: `EDGEBANK_CANARY_FAULT` (set by `npm run dev -- --version
 * transfers=5xx:<share>|latency:<ms>` on the second version only) fails that share of the
 * transfers it is asked for (POST /v1/transfers), or adds that delay to each, inside the route
 * the app measures.
 * Never deployed: production runs src/index.ts, which has none of it.
 */
import {
  parseCanaryFault,
  withCanaryFault,
  withFaultHeaders,
  withTestFaults,
} from "@edgebank/durable-objects/flow/testing";
import { transferSteps } from "@edgebank/durable-objects/transfer";
import { reportingDurableObject } from "@edgebank/http";
import worker from "../src/index.ts";
import { TransferSagaDO as TransferSagaDOClass } from "../src/saga/transfer-saga-do.ts";

export * from "../src/index.ts";

export const TransferSagaDO = reportingDurableObject("transfers", withTestFaults(TransferSagaDOClass));
const faulty = withFaultHeaders(worker, [{ binding: "TRANSFER_SAGA", steps: transferSteps }]);

export default {
  ...faulty,
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    const fault = parseCanaryFault((env as { EDGEBANK_CANARY_FAULT?: string }).EDGEBANK_CANARY_FAULT);
    const transfer = request.method === "POST" && new URL(request.url).pathname === "/v1/transfers";
    const handler = fault && transfer ? withCanaryFault(faulty, "TRANSFER_SAGA", fault) : faulty;
    return handler.fetch?.(request, env, ctx) ?? new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
