export {
  type PaymentPorts,
  type PaymentSettlement,
  type PaymentState,
  type PaymentStep,
  type PaymentSubject,
  paymentFlow,
  paymentSteps,
} from "./payment.ts";
export { COMPENSATED_BY_OPERATOR, type LedgerEntry, type MoneyPorts, reasonOf } from "./ports.ts";
export {
  type RefundPorts,
  type RefundSettlement,
  type RefundState,
  type RefundStep,
  type RefundSubject,
  refundFlow,
  refundSteps,
} from "./refund.ts";
