import { FlowObject, type FlowShellSettings } from "@edgebank/durable-objects/flow/shell";
import { type RefundStep, type RefundSubject, refundFlow } from "@edgebank/durable-objects/payment";
import { settleRefund } from "../domain/settlement.ts";
import { moneyPorts, paymentsFlowSettings } from "./ports.ts";

/** One refund's flow: durable-objects/payment's refund steps in the flow shell, addressed by the refund's id. */
export class RefundFlowDO extends FlowObject<RefundStep, RefundSubject, Env> {
  protected definition() {
    return refundFlow(moneyPorts(this.env, this.ctx, settleRefund));
  }

  protected settings(): FlowShellSettings {
    return paymentsFlowSettings({ object: "RefundFlowDO", noun: "refund", stepMetric: "refund_step" });
  }
}
