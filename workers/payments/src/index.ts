import { fetchStartingConsumers } from "@edgebank/consumer/durable-object";
import { registerConsumerRoutes } from "@edgebank/consumer/routes";
import { withDatabase } from "@edgebank/db";
import { createLogger, describeError, reportingDurableObject, withErrorReporting } from "@edgebank/http";
import { TransientFailure } from "@edgebank/service/clients";
import { consumerObjects, PaymentsConsumerDO as PaymentsConsumerDOClass, startConsumers } from "./consumers.ts";
import { runPayment, stalePayments } from "./domain/payments.ts";
import { runRefund, staleRefunds } from "./domain/refunds.ts";
import { relayPaymentEvents } from "./events.ts";
import { registerPaymentRoutes } from "./routes/payments.ts";
import { app, config, serviceSettings } from "./service.ts";

/**
 * The payments service: customers pay merchants (authorize, capture, credit, ledger), merchants
 * refund, every outcome an event in the outbox relayed to Kafka.
 */
registerPaymentRoutes(app);
registerConsumerRoutes(app, "payments", consumerObjects);

/** Payments and refunds left pending (a worker died, a service was down) are run again. */
async function resumeStale(env: Env): Promise<void> {
  const log = logger(env);
  const [paymentIds, refundIds] = await withDatabase(serviceSettings(env), async (db) => [
    await stalePayments(db, 30),
    await staleRefunds(db, 30),
  ]);
  const runs = [
    ...paymentIds.map((id) => ["payment", id, () => runPayment(env, id)] as const),
    ...refundIds.map((id) => ["refund", id, () => runRefund(env, id)] as const),
  ];
  for (const [kind, id, run] of runs) {
    try {
      await run();
      log.info(`stale ${kind} resumed`, { id });
    } catch (error) {
      const level = error instanceof TransientFailure ? "warn" : "error";
      log[level](`stale ${kind} not finished`, { id, ...describeError(error) });
    }
  }
}

const logger = (env: Env) => {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  return createLogger({ service: "payments", version: SERVICE_VERSION }, LOG_LEVEL);
};

/** PaymentsConsumerDO, reporting what its RPC methods and alarms throw. */
export type PaymentsConsumerDO = PaymentsConsumerDOClass;
export const PaymentsConsumerDO = reportingDurableObject("payments", PaymentsConsumerDOClass);
export default withErrorReporting("payments", {
  /** Requests also make sure the order choreography's consumers run. */
  fetch: fetchStartingConsumers<Env>(app.fetch, startConsumers, logger),
  /** Every minute: keep the consumers running, finish what was left pending, publish the outbox. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(Promise.all([startConsumers(env), resumeStale(env).finally(() => relayPaymentEvents(env, "cron"))]));
  },
} satisfies ExportedHandler<Env>);
