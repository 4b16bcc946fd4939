import { fetchStartingConsumers } from "@edgebank/consumer/durable-object";
import { registerConsumerRoutes } from "@edgebank/consumer/routes";
import { withDatabase } from "@edgebank/db";
import { createLogger, describeError, reportingDurableObject, withErrorReporting } from "@edgebank/http";
import { consumerObjects, PaymentsConsumerDO as PaymentsConsumerDOClass, startConsumers } from "./consumers.ts";
import { claimStalePayments, paymentSubject } from "./domain/payments.ts";
import { claimStaleRefunds, refundSubject } from "./domain/refunds.ts";
import { PaymentsOutboxRelayDO as PaymentsOutboxRelayDOClass, relayPaymentEvents } from "./events.ts";
import { PaymentFlowDO as PaymentFlowDOClass } from "./flows/payment-flow-do.ts";
import { RefundFlowDO as RefundFlowDOClass } from "./flows/refund-flow-do.ts";
import { registerPaymentRoutes } from "./routes/payments.ts";
import { app, config, paymentFlowOf, refundFlowOf, serviceSettings } from "./service.ts";

export { PaymentsRpc } from "./rpc.ts";

/**
 * The payments service: customers pay merchants and merchants refund, each payment and refund a
 * flow object (authorize, capture, credit, ledger; debit, credit, ledger), every outcome an
 * event in the outbox relayed to Kafka.
 */
registerPaymentRoutes(app);
registerConsumerRoutes(app, "payments", consumerObjects);

/**
 * Payments and refunds whose rows are still pending a while after their last change: their
 * flow objects check that they run (a flow that never started starts; a lost alarm is set).
 */
async function sweepFlows(env: Env): Promise<void> {
  const log = logger(env);
  const [stale, staleRefundRows] = await withDatabase(serviceSettings(env), async (db) => [
    await claimStalePayments(db, 30),
    await claimStaleRefunds(db, 30),
  ]);
  const checks = [
    ...stale.map(
      (row) => ["payment", row.id, () => paymentFlowOf(env, row.id).ensure(paymentSubject(env, row))] as const,
    ),
    ...staleRefundRows.map(
      ({ refund, payment }) =>
        ["refund", refund.id, () => refundFlowOf(env, refund.id).ensure(refundSubject(refund, payment))] as const,
    ),
  ];
  for (const [kind, id, check] of checks) {
    try {
      const state = await check();
      log.info(`stale ${kind} checked`, { id, status: state?.status ?? "started", step: state?.step ?? "" });
    } catch (error) {
      log.error(`stale ${kind} not checked`, { id, ...describeError(error) });
    }
  }
}

const logger = (env: Env) => {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  return createLogger({ service: "payments", version: SERVICE_VERSION }, LOG_LEVEL);
};

/** The payments service's Durable Objects, reporting what their RPC methods and alarms throw. */
export type PaymentsConsumerDO = PaymentsConsumerDOClass;
export const PaymentsConsumerDO = reportingDurableObject("payments", PaymentsConsumerDOClass);
export type PaymentFlowDO = PaymentFlowDOClass;
export const PaymentFlowDO = reportingDurableObject("payments", PaymentFlowDOClass);
export type RefundFlowDO = RefundFlowDOClass;
export const RefundFlowDO = reportingDurableObject("payments", RefundFlowDOClass);
export type PaymentsOutboxRelayDO = PaymentsOutboxRelayDOClass;
export const PaymentsOutboxRelayDO = reportingDurableObject("payments", PaymentsOutboxRelayDOClass);
export default withErrorReporting("payments", {
  /** Requests also make sure the order choreography's consumers run. */
  fetch: fetchStartingConsumers<Env>(app.fetch, startConsumers, logger),
  /** Every minute: keep the consumers running, check flows left pending, publish the outbox. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(Promise.all([startConsumers(env), sweepFlows(env).finally(() => relayPaymentEvents(env, "cron"))]));
  },
} satisfies ExportedHandler<Env>);
