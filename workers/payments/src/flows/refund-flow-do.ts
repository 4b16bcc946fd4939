import { FlowObject, type FlowShellSettings } from "@edgebank/durable-objects/flow/shell";
import { type RefundStep, type RefundSubject, refundFlow } from "@edgebank/durable-objects/payment";
import { settleRefund } from "../domain/settlement.ts";
import { keptPaymentsDatabase, moneyPorts, paymentsFlowSettings } from "./ports.ts";

/** Refunds' flows: durable-objects/payment's refund steps in the flow shell, a host of the flows whose refund ids fall in its shard. */
export class RefundFlowDO extends FlowObject<RefundStep, RefundSubject, Env> {
  readonly #database = keptPaymentsDatabase(this.env);

  protected definition() {
    return refundFlow(moneyPorts(this.env, this.ctx, this.#database, settleRefund));
  }

  protected settings(): FlowShellSettings {
    return paymentsFlowSettings({ object: "RefundFlowDO", noun: "refund", stepMetric: "refund_step" });
  }
}
