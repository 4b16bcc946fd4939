import type { FlowShellSettings } from "@edgebank/durable-objects/flow/shell";
import { FlowObject } from "@edgebank/durable-objects/flow/shell";
import {
  type PaymentState,
  type PaymentStep,
  type PaymentSubject,
  paymentFlow,
} from "@edgebank/durable-objects/payment";
import { settlePayment } from "../domain/settlement.ts";
import { keptPaymentsDatabase, moneyPorts, paymentsFlowSettings } from "./ports.ts";

/**
 * Payments' flows: durable-objects/payment's steps in the flow shell, a host of the flows whose
 * payment ids fall in its shard. The route's (or the order consumer's) `begin` runs it; an order's payment then
 * waits, authorized, for `capture` or `cancelAuthorization` from the choreography.
 */
export class PaymentFlowDO extends FlowObject<PaymentStep, PaymentSubject, Env> {
  readonly #database = keptPaymentsDatabase(this.env);

  protected definition() {
    return paymentFlow(moneyPorts(this.env, this.ctx, this.#database, settlePayment));
  }

  protected settings(): FlowShellSettings {
    return paymentsFlowSettings({ object: "PaymentFlowDO", noun: "payment", stepMetric: "payment_step" });
  }

  /** StockReserved: authorized order payment `id` is captured (unless it was let go first), run within `waitMs`. */
  capture(id: string, waitMs = 0): Promise<PaymentState | undefined> {
    return this.proceed(id, "await_stock", "capture", undefined, waitMs);
  }

  /** No stock, or the order was cancelled: authorized payment `id` lets its hold go (unless it was captured first). */
  cancelAuthorization(id: string, reason: string, waitMs = 0): Promise<PaymentState | undefined> {
    return this.proceed(id, "await_stock", "void", reason, waitMs);
  }
}
