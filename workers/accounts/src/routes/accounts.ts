import { isId } from "@edgebank/ids";
import { type Currency, currencies } from "@edgebank/money";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import {
  getVisibleAccount,
  listOwnAccounts,
  listStatement,
  openAccount,
  presentAccount,
  presentBalance,
} from "../domain/accounts.ts";
import { accountObjects } from "../service.ts";

const account = z
  .object({
    id: z.string(),
    ownerId: z.string(),
    kind: z.enum(["customer", "system"]),
    name: z.string().nullable(),
    currency: z.string(),
    status: z.enum(["active", "frozen", "closed"]),
    createdAt: z.string(),
  })
  .openapi("Account");

const balance = z
  .object({
    accountId: z.string(),
    currency: z.string(),
    posted: z.string().describe("minor units, decimal string"),
    pending: z.string(),
    available: z.string(),
    creditLimit: z.string(),
    formatted: z.object({ posted: z.string(), available: z.string() }),
  })
  .openapi("Balance");

const accountId = z.object({
  id: z
    .string()
    .refine((value) => isId("account", value), "not an account id")
    .openapi({ param: { name: "id", in: "path" } }),
});

const openRoute = createRoute({
  method: "post",
  path: "/v1/accounts",
  tags: ["accounts"],
  summary: "Open an account in a currency; the caller owns it",
  security: [{ bearer: [] }],
  middleware: [authenticated("accounts:write")] as const,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z.object({
            currency: z.enum(Object.keys(currencies) as [Currency, ...Currency[]]),
            name: z.string().trim().min(1).max(100).optional(),
          }),
        },
      },
      required: true,
    },
  },
  responses: { 201: { description: "Opened", content: { "application/json": { schema: account } } } },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/accounts",
  tags: ["accounts"],
  summary: "The caller's accounts, or (operators, auditors) a user's (cursor pagination, oldest first)",
  security: [{ bearer: [] }],
  middleware: [authenticated("accounts:read")] as const,
  request: {
    query: z.object({
      ownerId: z
        .string()
        .min(1)
        .max(100)
        .optional()
        .describe("operators and auditors: the user whose accounts to list"),
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z
        .string()
        .refine((value) => isId("account", value), "not a cursor from this API")
        .optional(),
    }),
  },
  responses: {
    200: {
      description: "A page of accounts",
      content: {
        "application/json": { schema: z.object({ items: z.array(account), nextCursor: z.string().optional() }) },
      },
    },
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/accounts/{id}",
  tags: ["accounts"],
  summary: "One account (its owner, operators and auditors)",
  security: [{ bearer: [] }],
  middleware: [authenticated("accounts:read")] as const,
  request: { params: accountId },
  responses: { 200: { description: "The account", content: { "application/json": { schema: account } } } },
});

const balanceRoute = createRoute({
  method: "get",
  path: "/v1/accounts/{id}/balance",
  tags: ["accounts"],
  summary: "Posted, pending and available balances",
  security: [{ bearer: [] }],
  middleware: [authenticated("accounts:read")] as const,
  request: { params: accountId },
  responses: { 200: { description: "Balances", content: { "application/json": { schema: balance } } } },
});

const statementLine = z
  .object({
    id: z.string(),
    operationId: z.string(),
    kind: z.enum(["credit", "debit", "hold", "capture", "release", "set_status", "set_credit_limit"]),
    amount: z.string().nullable().describe("minor units; null for a release or a whole-hold capture"),
    holdId: z.string().nullable(),
    posted: z.string(),
    pending: z.string(),
    available: z.string(),
    createdAt: z.string(),
  })
  .openapi("StatementLine");

const statementRoute = createRoute({
  method: "get",
  path: "/v1/accounts/{id}/operations",
  tags: ["accounts"],
  summary: "The account's statement: applied operations, newest first (cursor pagination)",
  security: [{ bearer: [] }],
  middleware: [authenticated("accounts:read")] as const,
  request: {
    params: accountId,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z
        .string()
        .refine((value) => isId("operation", value), "not a cursor from this API")
        .optional(),
    }),
  },
  responses: {
    200: {
      description: "A page of the statement",
      content: {
        "application/json": { schema: z.object({ items: z.array(statementLine), nextCursor: z.string().optional() }) },
      },
    },
  },
});

export function registerAccountRoutes(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(statementRoute, async (c) => {
    const row = await getVisibleAccount(c.var.db(), c.var.principal, c.req.valid("param").id);
    const page = await listStatement(c.var.db(), row.id, c.req.valid("query"));
    return c.json({ items: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }, 200);
  });

  app.openapi(openRoute, async (c) => {
    const input = c.req.valid("json");
    const row = await openAccount(c.var.db(), c.var.principal, { currency: input.currency, name: input.name });
    c.header("location", `/v1/accounts/${row.id}`);
    return c.json(presentAccount(row), 201);
  });

  app.openapi(listRoute, async (c) => {
    const page = await listOwnAccounts(c.var.db(), c.var.principal, c.req.valid("query"));
    return c.json(
      { items: page.items.map(presentAccount), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) },
      200,
    );
  });

  app.openapi(getRoute, async (c) => {
    return c.json(presentAccount(await getVisibleAccount(c.var.db(), c.var.principal, c.req.valid("param").id)), 200);
  });

  app.openapi(balanceRoute, async (c) => {
    c.header("cache-control", "no-store");
    const row = await getVisibleAccount(c.var.db(), c.var.principal, c.req.valid("param").id);
    // The AccountDO is the single writer: its balances are the latest committed ones.
    const balances = await accountObjects(c.env).get(accountObjects(c.env).idFromName(row.id)).balance(row.id);
    return c.json(presentBalance(row, balances), 200);
  });
}
