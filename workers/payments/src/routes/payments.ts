import type { AuthVariables } from "@edgebank/auth";
import { FLOW_ANSWER_WITHIN_MS } from "@edgebank/durable-objects/flow/shell";
import { AppError, problemResponse, toProblem } from "@edgebank/errors";
import { formatTraceparent } from "@edgebank/http";
import { isId } from "@edgebank/ids";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { replayResponse, requestFingerprint } from "@edgebank/service/idempotency";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  beginPayment,
  getVisiblePayment,
  listPayments,
  type PaymentRow,
  paymentSubject,
  presentPayment,
  rememberAnswer,
  resumePayment,
} from "../domain/payments.ts";
import {
  beginRefund,
  getRefund,
  listRefunds,
  listRefundsByStatus,
  presentRefund,
  type RefundRow,
  refundSubject,
  resumeRefund,
} from "../domain/refunds.ts";
import { paymentStatuses, refundStatuses } from "../domain/statuses.ts";
import { findMerchant, listOwnedMerchants, type MerchantRow } from "../repo/merchants.ts";
import { paymentFlowOf, refundFlowOf } from "../service.ts";
import { createMerchant, paymentParties } from "../services/merchants.ts";

type AuthedEnv = ServiceEnv & { Variables: AuthVariables };

const payment = z
  .object({
    id: z.string(),
    payerAccountId: z.string(),
    merchantId: z.string(),
    amount: z.string(),
    currency: z.string(),
    reference: z.string(),
    status: z.enum(paymentStatuses),
    refundedAmount: z.string(),
    failureReason: z.string().optional(),
    createdAt: z.string(),
    completedAt: z.string().optional(),
  })
  .openapi("Payment");

const refund = z
  .object({
    id: z.string(),
    paymentId: z.string(),
    amount: z.string(),
    reason: z.string(),
    status: z.enum(refundStatuses),
    failureReason: z.string().optional(),
    createdAt: z.string(),
    completedAt: z.string().optional(),
  })
  .openapi("Refund");

const merchant = z
  .object({ id: z.string(), name: z.string(), accountId: z.string(), currency: z.string(), createdAt: z.string() })
  .openapi("Merchant");

const minorUnits = z.string().regex(/^[1-9][0-9]{0,17}$/, "a positive whole number of minor units");
const idempotencyKey = z.object({ "idempotency-key": z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/) });
const paymentId = z.object({
  id: z
    .string()
    .refine((value) => isId("payment", value), "not a payment id")
    .openapi({ param: { name: "id", in: "path" } }),
});
const merchantId = z.string().refine((value) => isId("merchant", value), "not a merchant id");

const failureDetails: Record<string, string> = {
  insufficient_funds: "The payer's account does not have the available balance for this payment.",
  account_frozen: "The payer's account is frozen.",
  account_closed: "The payer's account is closed.",
  authorization_expired: "The authorization lapsed before the payment was captured.",
};

const createPaymentRoute = createRoute({
  method: "post",
  path: "/v1/payments",
  tags: ["payments"],
  summary: "Pay a merchant from one of the caller's accounts",
  description:
    "Authorizes (a hold on the payer's account), captures, credits the merchant's account and records " +
    "one balanced ledger entry; PaymentCreated, then PaymentCompleted or PaymentFailed. 201 completed, " +
    "422 refused (`reason`), 202 still running (a service was unavailable; it completes later) or " +
    "waiting for an operator (NEEDS_ATTENTION). " +
    "Idempotency-Key is required and durable: a repeat gets the first answer.",
  security: [{ bearer: [] }],
  middleware: [authenticated("payments:write")] as const,
  request: {
    headers: idempotencyKey,
    body: {
      content: {
        "application/json": {
          schema: z
            .object({
              fromAccountId: z.string().refine((value) => isId("account", value), "not an account id"),
              merchantId,
              amount: minorUnits,
              currency: z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code"),
              reference: z.string().trim().min(1).max(140),
            })
            .strict(),
        },
      },
      required: true,
    },
  },
  responses: {
    201: { description: "Completed", content: { "application/json": { schema: payment } } },
    202: { description: "Still running", content: { "application/json": { schema: payment } } },
  },
});

const listPaymentsRoute = createRoute({
  method: "get",
  path: "/v1/payments",
  tags: ["payments"],
  summary:
    "The caller's payments (as=merchant: payments made to the caller's merchants; operators and auditors: everyone's), newest first",
  security: [{ bearer: [] }],
  middleware: [authenticated()] as const,
  request: {
    query: z.object({
      as: z
        .enum(["payer", "merchant"])
        .default("payer")
        .describe(
          "payer: the caller's payments (operators and auditors: everyone's); merchant: those to the caller's merchants",
        ),
      status: z
        .enum(paymentStatuses)
        .optional()
        .describe("only those in this status (NEEDS_ATTENTION: what waits for an operator)"),
      merchantId: merchantId.optional(),
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z
        .string()
        .refine((value) => isId("payment", value), "not a cursor from this API")
        .optional(),
    }),
  },
  responses: {
    200: {
      description: "A page of payments",
      content: {
        "application/json": { schema: z.object({ items: z.array(payment), nextCursor: z.string().optional() }) },
      },
    },
  },
});

const getPaymentRoute = createRoute({
  method: "get",
  path: "/v1/payments/{id}",
  tags: ["payments"],
  summary: "A payment (its payer, its merchant, operators and auditors)",
  security: [{ bearer: [] }],
  middleware: [authenticated()] as const,
  request: { params: paymentId },
  responses: {
    200: {
      description: "The payment and its refunds",
      content: { "application/json": { schema: payment.extend({ refunds: z.array(refund) }) } },
    },
  },
});

const createRefundRoute = createRoute({
  method: "post",
  path: "/v1/payments/{id}/refunds",
  tags: ["payments"],
  summary: "Merchant or operator: refund part or all of a completed payment",
  description:
    "Never more than what is left to refund (422 `refund_exceeds_payment`, nothing changes). Debits the " +
    "merchant's account, credits the payer's, records a balanced ledger entry; PaymentRefunded. " +
    "Idempotency-Key required.",
  security: [{ bearer: [] }],
  middleware: [authenticated()] as const,
  request: {
    params: paymentId,
    headers: idempotencyKey,
    body: {
      content: {
        "application/json": {
          schema: z.object({ amount: minorUnits, reason: z.string().trim().min(1).max(140) }).strict(),
        },
      },
      required: true,
    },
  },
  responses: {
    201: { description: "Refunded", content: { "application/json": { schema: refund } } },
    202: {
      description: "Still running, or waiting for an operator",
      content: { "application/json": { schema: refund } },
    },
  },
});

const retryPaymentRoute = createRoute({
  method: "post",
  path: "/v1/payments/{id}/retry",
  tags: ["payments", "operator"],
  summary: "Operator: run a payment in NEEDS_ATTENTION again from the step that could not finish",
  description:
    "Recorded with the operator. Answers the payment after a short wait (PENDING if still running). " +
    "409 when the payment does not need attention.",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  request: { params: paymentId },
  responses: { 200: { description: "The payment", content: { "application/json": { schema: payment } } } },
});

const compensatePaymentRoute = createRoute({
  method: "post",
  path: "/v1/payments/{id}/compensate",
  tags: ["payments", "operator"],
  summary: "Operator: undo a payment in NEEDS_ATTENTION that has not reached the merchant, and end it",
  description:
    "Before the capture the hold is let go; a return of captured money that was refused is tried again. " +
    "Once the merchant may have been credited only a retry is safe (409 with why; a completed payment " +
    "is given back by a refund). Recorded with the operator.",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  request: { params: paymentId },
  responses: { 200: { description: "The payment", content: { "application/json": { schema: payment } } } },
});

const refundId = z.object({
  id: z
    .string()
    .refine((value) => isId("refund", value), "not a refund id")
    .openapi({ param: { name: "id", in: "path" } }),
});

const listRefundsRoute = createRoute({
  method: "get",
  path: "/v1/refunds",
  tags: ["payments", "operator"],
  summary: "Operators and auditors: refunds in a status (NEEDS_ATTENTION: what waits for an operator), newest first",
  security: [{ bearer: [] }],
  middleware: [authenticated()] as const,
  request: {
    query: z.object({
      status: z.enum(refundStatuses).default("NEEDS_ATTENTION"),
      limit: z.coerce.number().int().min(1).max(100).default(50),
    }),
  },
  responses: {
    200: {
      description: "Refunds",
      content: { "application/json": { schema: z.object({ items: z.array(refund) }) } },
    },
  },
});

const retryRefundRoute = createRoute({
  method: "post",
  path: "/v1/refunds/{id}/retry",
  tags: ["payments", "operator"],
  summary: "Operator: run a refund in NEEDS_ATTENTION again from the step that could not finish",
  description:
    "A refund stops for a person when the payer's account refused the credit after the merchant was " +
    "debited (frozen, closed): fix that, then retry. Never compensated (the merchant's money would be " +
    "lost in between). Recorded with the operator; 409 when it does not need attention.",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  request: { params: refundId },
  responses: { 200: { description: "The refund", content: { "application/json": { schema: refund } } } },
});

const createMerchantRoute = createRoute({
  method: "post",
  path: "/v1/merchants",
  tags: ["merchants"],
  summary: "Merchant: register a business, paid into one of the caller's accounts",
  security: [{ bearer: [] }],
  middleware: [authenticated("merchant:write")] as const,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z
            .object({
              name: z.string().trim().min(1).max(100),
              accountId: z.string().refine((value) => isId("account", value), "not an account id"),
            })
            .strict(),
        },
      },
      required: true,
    },
  },
  responses: { 201: { description: "Registered", content: { "application/json": { schema: merchant } } } },
});

const listMerchantsRoute = createRoute({
  method: "get",
  path: "/v1/merchants",
  tags: ["merchants"],
  summary: "Merchant: the caller's merchants",
  security: [{ bearer: [] }],
  middleware: [authenticated("merchant:read")] as const,
  responses: {
    200: {
      description: "Merchants",
      content: { "application/json": { schema: z.object({ items: z.array(merchant) }) } },
    },
  },
});

const getMerchantRoute = createRoute({
  method: "get",
  path: "/v1/merchants/{id}",
  tags: ["merchants"],
  summary: "A merchant's public face (what a payer needs): name and currency",
  security: [{ bearer: [] }],
  middleware: [authenticated()] as const,
  request: { params: z.object({ id: merchantId.openapi({ param: { name: "id", in: "path" } }) }) },
  responses: {
    200: {
      description: "The merchant",
      content: { "application/json": { schema: z.object({ id: z.string(), name: z.string(), currency: z.string() }) } },
    },
  },
});

const presentMerchant = (row: MerchantRow) => ({
  id: row.id,
  name: row.name,
  accountId: row.accountId,
  currency: row.currency,
  createdAt: row.createdAt.toISOString(),
});

function refused(c: Context<AuthedEnv>, detail: string, extensions: Record<string, unknown>): Response {
  const { problem } = toProblem(new AppError("unprocessable", detail, { extensions }), {
    instance: new URL(c.req.url).pathname,
    requestId: c.var.requestId,
  });
  return problemResponse(problem);
}

function paymentAnswer(c: Context<AuthedEnv>, row: PaymentRow): Response {
  if (row.status === "COMPLETED") return c.json(presentPayment(row), 201);
  if (row.status === "FAILED") {
    const reason = row.failureReason ?? "failed";
    return refused(c, failureDetails[reason] ?? `The payment failed: ${reason}.`, { reason, paymentId: row.id });
  }
  c.header("location", `/v1/payments/${row.id}`);
  c.header("retry-after", "5");
  return c.json(presentPayment(row), 202);
}

function refundAnswer(c: Context<AuthedEnv>, row: RefundRow): Response {
  if (row.status === "COMPLETED") return c.json(presentRefund(row), 201);
  if (row.status === "FAILED") {
    const reason = row.failureReason ?? "failed";
    return refused(c, `The refund failed: ${reason}.`, { reason, refundId: row.id });
  }
  c.header("location", `/v1/payments/${row.paymentId}`);
  return c.json(presentRefund(row), 202);
}

/** How long a request waits for its flow's outcome before it answers 202 (the flow goes on). */
/**
 * Runs a payment's or a refund's flow in its object (see FlowObject.begin) and answers from the
 * row it settled. The object may crash or be evicted meanwhile: once the flow is stored its
 * alarm resumes it and the caller gets a 202 to poll; a flow that never started is this
 * request's failure (a repeat of the key starts it, and so does the cron). A final answer is
 * stored for the Idempotency-Key; a 202 is not the key's answer.
 */
async function settleWithin<T>(
  c: Context<AuthedEnv>,
  key: string,
  begun: "created" | "resume" | "settled",
  flow: { begin: () => Promise<unknown>; outcome: () => Promise<unknown> },
  settled: () => Promise<T>,
  answer: (row: T) => Response,
): Promise<Response> {
  // A repeat whose first request ended without storing its answer is answered from the row.
  if (begun !== "settled") {
    try {
      await flow.begin();
    } catch (error) {
      // A stub whose object was reset is broken for good: `outcome` asks through a new one.
      const state = await flow.outcome().catch(() => undefined);
      if (!state) throw error;
    }
  }
  const response = answer(await settled());
  if (response.status !== 202) {
    const body = (await response.clone().json()) as Record<string, unknown>;
    await rememberAnswer(c.var.db(), c.var.principal, key, response.status, body);
  }
  return response;
}

export function registerPaymentRoutes(app: OpenAPIHono<ServiceEnv>): void {
  const authed = app as unknown as OpenAPIHono<AuthedEnv>;

  authed.openapi(createPaymentRoute, async (c) => {
    const body = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const principal = c.var.principal;
    const db = c.var.db();
    const target = await paymentParties({ db, env: c.env, principal }, body);
    const fingerprint = await requestFingerprint("POST", "/v1/payments", body);
    const traceparent = formatTraceparent(c.var.trace);
    const begun = await beginPayment(db, principal, key, fingerprint, {
      payerAccountId: body.fromAccountId,
      merchant: target,
      amount: BigInt(body.amount),
      currency: body.currency,
      reference: body.reference,
      traceparent,
    });
    if (begun.kind === "replay") return replayResponse(begun) as never;
    const row = begun.resource;
    const response = await settleWithin(
      c,
      key,
      begun.kind,
      {
        begin: () => paymentFlowOf(c.env, row.id).begin(paymentSubject(c.env, row, traceparent), FLOW_ANSWER_WITHIN_MS),
        outcome: () => paymentFlowOf(c.env, row.id).outcome(),
      },
      () => getVisiblePayment(c.var.db(), principal, row.id),
      (settled) => paymentAnswer(c, settled),
    );
    return response as never;
  });

  authed.openapi(listPaymentsRoute, async (c) => {
    const query = c.req.valid("query");
    if (query.as === "merchant" && !c.var.principal.scopes.has("merchant:read")) {
      throw new AppError("forbidden", "Listing payments to merchants needs the merchant:read scope.");
    }
    const page = await listPayments(c.var.db(), c.var.principal, query);
    c.header("cache-control", "no-store");
    return c.json({ items: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }, 200);
  });

  authed.openapi(getPaymentRoute, async (c) => {
    const row = await getVisiblePayment(c.var.db(), c.var.principal, c.req.valid("param").id);
    const refundRows = await listRefunds(c.var.db(), row.id);
    c.header("cache-control", "no-store");
    return c.json({ ...presentPayment(row), refunds: refundRows.map(presentRefund) }, 200);
  });

  authed.openapi(createRefundRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const fingerprint = await requestFingerprint("POST", `/v1/payments/${id}/refunds`, body);
    const begun = await beginRefund(c.var.db(), c.var.principal, key, fingerprint, id, {
      amount: BigInt(body.amount),
      reason: body.reason,
    });
    if (begun.kind === "replay") return replayResponse(begun) as never;
    const refund = begun.resource;
    const traceparent = formatTraceparent(c.var.trace);
    const response = await settleWithin(
      c,
      key,
      begun.kind,
      {
        begin: async () => {
          const payment = await getVisiblePayment(c.var.db(), c.var.principal, id);
          return refundFlowOf(c.env, refund.id).begin(
            refundSubject(refund, payment, traceparent),
            FLOW_ANSWER_WITHIN_MS,
          );
        },
        outcome: () => refundFlowOf(c.env, refund.id).outcome(),
      },
      () => getRefund(c.var.db(), refund.id),
      (settled) => refundAnswer(c, settled),
    );
    return response as never;
  });

  authed.openapi(retryPaymentRoute, async (c) => {
    const { id } = c.req.valid("param");
    const db = c.var.db();
    await getVisiblePayment(db, c.var.principal, id);
    await resumePayment(db, c.var.principal, id, "retry");
    const flow = paymentFlowOf(c.env, id);
    await flow.retry();
    await flow.outcome(FLOW_ANSWER_WITHIN_MS).catch(() => undefined);
    return c.json(presentPayment(await getVisiblePayment(db, c.var.principal, id)), 200);
  });

  authed.openapi(compensatePaymentRoute, async (c) => {
    const { id } = c.req.valid("param");
    const db = c.var.db();
    const visible = await getVisiblePayment(db, c.var.principal, id);
    const flow = paymentFlowOf(c.env, id);
    // The flow says first whether it can be compensated, so a refusal changes nothing.
    const plan = await flow.compensation();
    if (plan === undefined) throw new AppError("conflict", `Payment ${visible.id} has no flow.`);
    if ("refused" in plan) throw new AppError("conflict", plan.refused);
    await resumePayment(db, c.var.principal, id, "compensate");
    await flow.compensate();
    await flow.outcome(FLOW_ANSWER_WITHIN_MS).catch(() => undefined);
    return c.json(presentPayment(await getVisiblePayment(db, c.var.principal, id)), 200);
  });

  authed.openapi(listRefundsRoute, async (c) => {
    const { scopes } = c.var.principal;
    if (!scopes.has("operator") && !scopes.has("auditor"))
      throw new AppError("forbidden", "Listing refunds by status is for operators and auditors.");
    const rows = await listRefundsByStatus(c.var.db(), c.req.valid("query"));
    c.header("cache-control", "no-store");
    return c.json({ items: rows.map(presentRefund) }, 200);
  });

  authed.openapi(retryRefundRoute, async (c) => {
    const { id } = c.req.valid("param");
    const db = c.var.db();
    await resumeRefund(db, c.var.principal, id);
    const flow = refundFlowOf(c.env, id);
    await flow.retry();
    await flow.outcome(FLOW_ANSWER_WITHIN_MS).catch(() => undefined);
    return c.json(presentRefund(await getRefund(db, id)), 200);
  });

  authed.openapi(createMerchantRoute, async (c) => {
    const row = await createMerchant({ db: c.var.db(), env: c.env, principal: c.var.principal }, c.req.valid("json"));
    c.header("location", `/v1/merchants/${row.id}`);
    return c.json(presentMerchant(row), 201);
  });

  authed.openapi(listMerchantsRoute, async (c) => {
    const rows = await listOwnedMerchants(c.var.db(), c.var.principal.subject);
    return c.json({ items: rows.map(presentMerchant) }, 200);
  });

  authed.openapi(getMerchantRoute, async (c) => {
    const row = await findMerchant(c.var.db(), c.req.valid("param").id);
    if (!row) throw new AppError("not_found", "Merchant does not exist.");
    return c.json({ id: row.id, name: row.name, currency: row.currency }, 200);
  });
}
