import { accountOperation, accountSummary, currencyCode, type OperateResult } from "@edgebank/contracts";
import { AppError } from "@edgebank/errors";
import { formatTraceparent } from "@edgebank/http";
import { isId } from "@edgebank/ids";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { operate, settlementAccountOf, summaryOf } from "../services/operations.ts";

/**
 * The accounts service's command API for other services (transfers, payments): operations on
 * an account's money, run by its AccountDO. Reached only over service bindings and never routed
 * by the gateway; the `accounts:operate` scope is granted to machine clients only, so a
 * customer's token cannot move money here even if a route leaked.
 */

const accountId = z.object({
  id: z
    .string()
    .refine((value) => isId("account", value), "not an account id")
    .openapi({ param: { name: "id", in: "path" } }),
});

const currency = currencyCode;
const operation = accountOperation.openapi("AccountOperation");

const result = z
  .object({
    operationId: z.string(),
    status: z.literal("applied"),
    posted: z.string(),
    pending: z.string(),
    available: z.string(),
  })
  .openapi("AccountOperationResult");

const summary = accountSummary.openapi("AccountSummary");

const summaryRoute = createRoute({
  method: "get",
  path: "/internal/v1/accounts/{id}",
  tags: ["internal"],
  summary: "Service: an account's owner, currency, status and balances, from its AccountDO",
  security: [{ bearer: [] }],
  middleware: [authenticated("accounts:operate")] as const,
  request: { params: accountId },
  responses: { 200: { description: "The account", content: { "application/json": { schema: summary } } } },
});

const operateRoute = createRoute({
  method: "post",
  path: "/internal/v1/accounts/{id}/operations",
  tags: ["internal"],
  summary: "Service: credit, debit, hold, capture or release, idempotent by operation id",
  description:
    "Answers 200 once the operation is committed. A refusal (insufficient funds, frozen or closed " +
    "account, currency mismatch, unknown hold) is a 422 problem whose `reason` is stable; the same " +
    "operation id always gets the same answer; the same id with other parameters is a 409; a 503 " +
    "means nothing was recorded and the same request may be retried.",
  security: [{ bearer: [] }],
  middleware: [authenticated("accounts:operate")] as const,
  request: {
    params: accountId,
    body: { content: { "application/json": { schema: operation } }, required: true },
  },
  responses: { 200: { description: "Applied", content: { "application/json": { schema: result } } } },
});

const settlementRoute = createRoute({
  method: "get",
  path: "/internal/v1/settlement-accounts/{currency}",
  tags: ["internal"],
  summary: "Service: the external settlement account of a currency (counterpart of deposits and withdrawals)",
  security: [{ bearer: [] }],
  middleware: [authenticated("accounts:operate")] as const,
  request: {
    params: z.object({ currency: currency.openapi({ param: { name: "currency", in: "path" } }) }),
  },
  responses: {
    200: {
      description: "The settlement account",
      content: { "application/json": { schema: z.object({ id: z.string(), currency: z.string() }) } },
    },
  },
});

/** A refusal as the 422 problem callers over HTTP read (`reason` stable, balances unchanged). */
function refusal(outcome: Extract<OperateResult, { status: "refused" }>): AppError {
  return new AppError("unprocessable", outcome.detail, {
    extensions: {
      reason: outcome.reason,
      operationId: outcome.operationId,
      posted: outcome.posted,
      pending: outcome.pending,
      available: outcome.available,
    },
  });
}

export function registerInternalRoutes(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(settlementRoute, async (c) => {
    const { currency: code } = c.req.valid("param");
    const id = await settlementAccountOf(c.env, code, c.var.db);
    if (!id) throw new AppError("not_found", `No settlement account holds ${code}.`);
    return c.json({ id, currency: code }, 200);
  });

  app.openapi(summaryRoute, async (c) => {
    const { id } = c.req.valid("param");
    const account = await summaryOf(c.env, id);
    if (!account) throw new AppError("not_found", `Account ${id} does not exist.`);
    c.header("cache-control", "no-store");
    return c.json(account, 200);
  });

  app.openapi(operateRoute, async (c) => {
    const { id } = c.req.valid("param");
    const outcome = await operate(c.env, id, c.req.valid("json"), formatTraceparent(c.var.trace));
    switch (outcome.status) {
      case "applied":
        return c.json(
          {
            operationId: outcome.operationId,
            status: "applied" as const,
            posted: outcome.posted,
            pending: outcome.pending,
            available: outcome.available,
          },
          200,
        );
      case "refused":
        throw refusal(outcome);
      case "not_found":
        throw new AppError("not_found", outcome.detail);
      case "conflict":
        throw new AppError("conflict", outcome.detail);
      default:
        throw new AppError("validation_failed", outcome.detail);
    }
  });
}
