import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { verifyChain } from "../domain/verify.ts";
import { statementBalances, statementLines } from "../repo/statements.ts";
import { checkpointKey } from "../service.ts";

const verifyRoute = createRoute({
  method: "get",
  path: "/v1/ledger/verify",
  tags: ["ledger", "auditor"],
  summary: "Auditor: recompute the hash chain and check every signed checkpoint",
  description: "Always 200: `valid` says whether the chain holds, `firstBreak` names the first entry that does not.",
  security: [{ bearer: [] }],
  middleware: [authenticated("auditor")] as const,
  responses: {
    200: {
      description: "The verification report",
      content: {
        "application/json": {
          schema: z
            .object({
              valid: z.boolean(),
              entries: z.number(),
              head: z.object({ sequence: z.string(), hash: z.string() }).nullable(),
              checkpoints: z.number(),
              firstBreak: z.object({ sequence: z.string(), reason: z.string(), detail: z.string() }).optional(),
            })
            .openapi("LedgerVerification"),
        },
      },
    },
  },
});

const accountEntriesRoute = createRoute({
  method: "get",
  path: "/v1/ledger/accounts/{id}/entries",
  tags: ["ledger", "auditor"],
  summary: "Auditor: an account's postings with the running balance after each, newest first",
  security: [{ bearer: [] }],
  middleware: [authenticated("auditor")] as const,
  request: {
    params: z.object({
      id: z
        .string()
        .regex(/^[A-Za-z0-9._:-]{1,128}$/)
        .openapi({ param: { name: "id", in: "path" } }),
    }),
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      /** Entries before this sequence (the `nextCursor` of the previous page). */
      cursor: z
        .string()
        .regex(/^[1-9][0-9]{0,18}$/, "not a cursor from this API")
        .optional(),
      /** Only entries up to this sequence: the balance as of that entry. */
      asOf: z
        .string()
        .regex(/^[1-9][0-9]{0,18}$/, "an entry sequence")
        .optional(),
    }),
  },
  responses: {
    200: {
      description: "A page of postings",
      content: {
        "application/json": {
          schema: z.object({
            accountId: z.string(),
            balances: z.record(z.string(), z.string()).describe("per currency, as of the newest line"),
            items: z.array(
              z.object({
                sequence: z.string(),
                transferId: z.string(),
                description: z.string(),
                recordedAt: z.string(),
                amount: z.string(),
                currency: z.string(),
                balanceAfter: z.string(),
              }),
            ),
            nextCursor: z.string().optional(),
          }),
        },
      },
    },
  },
});

export function registerAuditRoutes(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(verifyRoute, async (c) => {
    c.header("cache-control", "no-store");
    return c.json(await verifyChain(c.var.db(), await checkpointKey(c.env)), 200);
  });

  app.openapi(accountEntriesRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor, asOf } = c.req.valid("query");
    const db = c.var.db();
    const rows = await statementLines(db, id, { limit, cursor, asOf });
    const page = rows.slice(0, limit);
    const balances = await statementBalances(db, id, asOf);
    return c.json(
      {
        accountId: id,
        balances,
        items: page.map((row) => ({
          sequence: row.sequence,
          transferId: row.transfer_id,
          description: row.description,
          recordedAt: new Date(row.recorded_at).toISOString(),
          amount: row.amount,
          currency: row.currency,
          balanceAfter: row.balance_after,
        })),
        ...(rows.length > limit && page.at(-1) ? { nextCursor: page.at(-1)?.sequence } : {}),
      },
      200,
    );
  });
}
