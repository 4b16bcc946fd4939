import type { FlowShellSettings } from "@edgebank/durable-objects/flow/shell";
import { FlowObject } from "@edgebank/durable-objects/flow/shell";
import {
  type PaymentState,
  type PaymentStep,
  type PaymentSubject,
  paymentFlow,
} from "@edgebank/durable-objects/payment";
import { settlePayment } from "../domain/settlement.ts";
import { moneyPorts, paymentsFlowSettings } from "./ports.ts";

/**
 * One payment's flow: durable-objects/payment's steps in the flow shell, addressed by the
 * payment's id. The route's (or the order consumer's) `begin` runs it; an order's payment then
 * waits, authorized, for `capture` or `cancelAuthorization` from the choreography.
 */
export class PaymentFlowDO extends FlowObject<PaymentStep, PaymentSubject, Env> {
  protected definition() {
    return paymentFlow(moneyPorts(this.env, this.ctx, settlePayment));
  }

  protected settings(): FlowShellSettings {
    return paymentsFlowSettings({ object: "PaymentFlowDO", noun: "payment", stepMetric: "payment_step" });
  }

  /** StockReserved: an authorized order's payment is captured (unless it was let go first), run within `waitMs`. */
  capture(waitMs = 0): Promise<PaymentState | undefined> {
    return this.proceed("await_stock", "capture", undefined, waitMs);
  }

  /** No stock, or the order was cancelled: an authorized payment lets its hold go (unless it was captured first). */
  cancelAuthorization(reason: string, waitMs = 0): Promise<PaymentState | undefined> {
    return this.proceed("await_stock", "void", reason, waitMs);
  }
}
