/**
 * The transfers Worker as the e2e suites run it (`EDGEBANK_TEST_FAULTS=true`): src/index.ts with
 * its saga object able to crash or be refused at a step boundary, armed by a request's
 * `X-Test-Crash-At` / `X-Test-Refuse-At` headers (see @edgebank/durable-objects/flow/testing).
 * Never deployed: production runs src/index.ts, which has none of it.
 */
import { withFaultHeaders, withTestFaults } from "@edgebank/durable-objects/flow/testing";
import { transferSteps } from "@edgebank/durable-objects/transfer";
import { reportingDurableObject } from "@edgebank/http";
import worker from "../src/index.ts";
import { TransferSagaDO as TransferSagaDOClass } from "../src/saga/transfer-saga-do.ts";

export * from "../src/index.ts";

export const TransferSagaDO = reportingDurableObject("transfers", withTestFaults(TransferSagaDOClass));
export default withFaultHeaders(worker, [{ binding: "TRANSFER_SAGA", steps: transferSteps }]);
