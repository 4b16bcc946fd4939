import type { OperationResult } from "@edgebank/durable-objects/account";
import { AppError } from "@edgebank/errors";
import { formatTraceparent } from "@edgebank/http";
import { isId } from "@edgebank/ids";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { accounts } from "../db/schema.ts";
import { accountObjects } from "../service.ts";

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

const minorUnits = z.string().regex(/^[1-9][0-9]{0,17}$/, "a positive whole number of minor units");
const currency = z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code");
const reference = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "1 to 128 characters of [A-Za-z0-9._:-]");

const operation = z
  .discriminatedUnion("kind", [
    z.object({
      kind: z.literal("credit"),
      operationId: reference,
      amount: minorUnits,
      currency,
      requireActive: z.boolean().optional().describe("refused by a frozen account (transfers; not deposits)"),
    }),
    z.object({ kind: z.literal("debit"), operationId: reference, amount: minorUnits, currency }),
    z.object({
      kind: z.literal("hold"),
      operationId: reference,
      holdId: reference,
      amount: minorUnits,
      currency,
      expiresAt: z.iso.datetime({ offset: true }).describe("when the object's alarm releases the hold"),
    }),
    z.object({
      kind: z.literal("capture"),
      operationId: reference,
      holdId: reference,
      amount: minorUnits.optional().describe("omitted: the whole hold; a part releases the rest"),
    }),
    z.object({ kind: z.literal("release"), operationId: reference, holdId: reference }),
  ])
  .openapi("AccountOperation");

const result = z
  .object({
    operationId: z.string(),
    status: z.literal("applied"),
    posted: z.string(),
    pending: z.string(),
    available: z.string(),
  })
  .openapi("AccountOperationResult");

const summary = z
  .object({
    id: z.string(),
    kind: z.enum(["customer", "system"]),
    ownerId: z.string(),
    currency: z.string(),
    status: z.enum(["active", "frozen", "closed"]),
    posted: z.string(),
    pending: z.string(),
    available: z.string(),
    creditLimit: z.string(),
  })
  .openapi("AccountSummary");

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

const balancesRoute = createRoute({
  method: "get",
  path: "/internal/v1/balances",
  tags: ["internal"],
  summary: "Service: every account's posted balance, in id order (the ledger's reconciliation)",
  description:
    "Read from the accounts database, which every AccountDO commits to before it answers. " +
    "Pages by account id: `after` is the last id of the previous page; `ids` asks for named accounts instead.",
  security: [{ bearer: [] }],
  middleware: [authenticated("accounts:reconcile")] as const,
  request: {
    query: z
      .object({
        after: z
          .string()
          .refine((value) => isId("account", value), "not an account id")
          .optional(),
        ids: z
          .string()
          .transform((value) => value.split(","))
          .pipe(
            z
              .array(z.string().refine((value) => isId("account", value), "not an account id"))
              .min(1)
              .max(100),
          )
          .optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(500),
      })
      .refine((query) => !(query.after && query.ids), "`after` and `ids` exclude each other"),
  },
  responses: {
    200: {
      description: "A page of balances",
      content: {
        "application/json": {
          schema: z
            .object({
              items: z.array(z.object({ id: z.string(), currency: z.string(), posted: z.string() })),
              /** The last id of this page when there may be more; null at the end. */
              next: z.string().nullable(),
            })
            .openapi("AccountBalancesPage"),
        },
      },
    },
  },
});

const reasons: Record<string, string> = {
  insufficient_funds: "The account's available balance does not cover the amount.",
  account_frozen: "The account is frozen: it takes no debits, holds or captures.",
  account_closed: "The account is closed.",
  currency_mismatch: "The account holds another currency.",
  hold_not_found: "No open hold has this id (already captured, released or expired).",
  hold_exists: "A hold with this id is already open.",
  capture_exceeds_hold: "The capture is larger than the hold.",
};

function refusal(outcome: OperationResult): AppError {
  const reason = outcome.reason ?? "refused";
  return new AppError("unprocessable", reasons[reason] ?? `Refused: ${reason}.`, {
    extensions: {
      reason,
      operationId: outcome.operationId,
      posted: outcome.posted,
      pending: outcome.pending,
      available: outcome.available,
    },
  });
}

export function registerInternalRoutes(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(balancesRoute, async (c) => {
    const { after, ids, limit } = c.req.valid("query");
    const rows = await c.var
      .db()
      .select({ id: accounts.id, currency: accounts.currency, posted: accounts.postedBalance })
      .from(accounts)
      .where(ids ? inArray(accounts.id, ids) : after ? gt(accounts.id, after) : undefined)
      .orderBy(asc(accounts.id))
      .limit(ids ? ids.length : limit);
    c.header("cache-control", "no-store");
    return c.json(
      {
        items: rows.map((row) => ({ id: row.id, currency: row.currency, posted: row.posted.toString() })),
        next: !ids && rows.length === limit ? (rows.at(-1)?.id ?? null) : null,
      },
      200,
    );
  });

  app.openapi(settlementRoute, async (c) => {
    const { currency: code } = c.req.valid("param");
    const [row] = await c.var
      .db()
      .select({ id: accounts.id, currency: accounts.currency })
      .from(accounts)
      .where(and(eq(accounts.kind, "system"), eq(accounts.currency, code)))
      .orderBy(asc(accounts.id))
      .limit(1);
    if (!row) throw new AppError("not_found", `No settlement account holds ${code}.`);
    return c.json(row, 200);
  });

  app.openapi(summaryRoute, async (c) => {
    const { id } = c.req.valid("param");
    const objects = accountObjects(c.env);
    c.header("cache-control", "no-store");
    return c.json(await objects.get(objects.idFromName(id)).summary(id), 200);
  });

  app.openapi(operateRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const objects = accountObjects(c.env);
    const stub = objects.get(objects.idFromName(id));
    const base = { accountId: id, operationId: body.operationId, traceparent: formatTraceparent(c.var.trace) };
    let outcome: OperationResult;
    switch (body.kind) {
      case "credit":
        outcome = await stub.credit({
          ...base,
          amount: BigInt(body.amount),
          currency: body.currency,
          ...(body.requireActive ? { requireActive: true } : {}),
        });
        break;
      case "debit":
        outcome = await stub.debit({ ...base, amount: BigInt(body.amount), currency: body.currency });
        break;
      case "hold":
        outcome = await stub.hold({
          ...base,
          holdId: body.holdId,
          amount: BigInt(body.amount),
          currency: body.currency,
          expiresAt: Date.parse(body.expiresAt),
        });
        break;
      case "capture":
        outcome = await stub.capture({
          ...base,
          holdId: body.holdId,
          ...(body.amount !== undefined ? { amount: BigInt(body.amount) } : {}),
        });
        break;
      case "release":
        outcome = await stub.release({ ...base, holdId: body.holdId });
        break;
    }
    if (outcome.status === "refused") throw refusal(outcome);
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
  });
}
