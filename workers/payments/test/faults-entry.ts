/**
 * The payments Worker as the e2e suites run it (`EDGEBANK_TEST_FAULTS=true`): src/index.ts with
 * its payment and refund objects able to crash or be refused at a step boundary, armed by a
 * request's `X-Test-Crash-At` / `X-Test-Refuse-At` headers (see
 * @edgebank/durable-objects/flow/testing). Never deployed: production runs src/index.ts, which
 * has none of it.
 */
import { withFaultHeaders, withTestFaults } from "@edgebank/durable-objects/flow/testing";
import { paymentSteps, refundSteps } from "@edgebank/durable-objects/payment";
import { reportingDurableObject } from "@edgebank/http";
import { PaymentFlowDO as PaymentFlowDOClass } from "../src/flows/payment-flow-do.ts";
import { RefundFlowDO as RefundFlowDOClass } from "../src/flows/refund-flow-do.ts";
import worker from "../src/index.ts";

export * from "../src/index.ts";

export const PaymentFlowDO = reportingDurableObject("payments", withTestFaults(PaymentFlowDOClass));
export const RefundFlowDO = reportingDurableObject("payments", withTestFaults(RefundFlowDOClass));
export default withFaultHeaders(worker, [
  { binding: "REFUND_FLOW", steps: refundSteps, path: /^\/v1\/payments\/[^/]+\/refunds$/ },
  { binding: "PAYMENT_FLOW", steps: paymentSteps, path: /^\/v1\/payments$/ },
]);
