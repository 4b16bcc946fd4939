import { bindingWith, defineConfig } from "@edgebank/config";
import { databaseSettings } from "@edgebank/db";
import { flowHandle, flowStub } from "@edgebank/durable-objects/flow/shell";
import { createServiceApp } from "@edgebank/service";
import { z } from "zod";

/** The payments service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({
  name: "payments",
  dbBinding: "PAYMENTS_DB",
  dbSchema: "payments",
  outbox: true,
});

/** The database settings of an env, for work done outside a request (cron, after the answer). */
export function serviceSettings(env: object) {
  const parsed = config(env);
  return databaseSettings(parsed, parsed.DB);
}

export const paymentSettings = defineConfig(
  z.object({
    /** How long an authorization (the hold on the payer's account) lasts before it lapses. */
    PAYMENT_AUTHORIZATION_SECONDS: z.coerce
      .number()
      .int()
      .min(30)
      .max(7 * 24 * 3600)
      .default(900),
  }),
);

const objects = defineConfig(
  z.object({
    PAYMENT_FLOW: bindingWith("idFromName", "get").transform((ns) => ns as unknown as Env["PAYMENT_FLOW"]),
    REFUND_FLOW: bindingWith("idFromName", "get").transform((ns) => ns as unknown as Env["REFUND_FLOW"]),
  }),
);

/** A payment's flow, in the PaymentFlowDO that hosts it, with the choreography's two signals. */
export function paymentFlowOf(env: object, paymentId: string) {
  const stub = flowStub(objects(env).PAYMENT_FLOW, paymentId);
  return {
    ...flowHandle(stub, paymentId),
    capture: (waitMs?: number) => stub.capture(paymentId, waitMs),
    cancelAuthorization: (reason: string, waitMs?: number) => stub.cancelAuthorization(paymentId, reason, waitMs),
  };
}

/** A refund's flow, in the RefundFlowDO that hosts it. */
export function refundFlowOf(env: object, refundId: string) {
  return flowHandle(flowStub(objects(env).REFUND_FLOW, refundId), refundId);
}
