import { resultRows } from "@edgebank/db";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { verifyChain } from "../domain/verify.ts";
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

interface LineRow {
  sequence: string;
  transfer_id: string;
  description: string;
  recorded_at: string | Date;
  amount: string;
  currency: string;
  balance_after: string;
}

export function registerAuditRoutes(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(verifyRoute, async (c) => {
    c.header("cache-control", "no-store");
    return c.json(await verifyChain(c.var.db(), await checkpointKey(c.env)), 200);
  });

  app.openapi(accountEntriesRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor, asOf } = c.req.valid("query");
    const upTo = asOf ?? "9223372036854775807";
    // The running balance is a window over all of the account's postings up to `asOf`; the
    // page is cut from it afterwards, so every line shows its true balance.
    const rows = resultRows<LineRow>(
      await c.var.db().execute(sql`
        select * from (
          select p.entry_sequence::text as sequence, e.transfer_id, e.description, e.recorded_at,
                 p.amount::text as amount, p.currency,
                 (sum(p.amount) over (partition by p.currency order by p.entry_sequence, p.leg))::text as balance_after,
                 p.entry_sequence as position, p.leg
            from ledger.postings p join ledger.entries e on e.sequence = p.entry_sequence
           where p.account_id = ${id} and p.entry_sequence <= ${upTo}::bigint
        ) lines
        where ${cursor ?? null}::bigint is null or position < ${cursor ?? null}::bigint
        order by position desc, leg desc
        limit ${limit + 1}`),
    );
    const page = rows.slice(0, limit);
    const totals = resultRows<{ currency: string; total: string }>(
      await c.var.db().execute(sql`
        select currency, sum(amount)::text as total from ledger.postings
         where account_id = ${id} and entry_sequence <= ${upTo}::bigint group by currency`),
    );
    const balances = Object.fromEntries(totals.map((row) => [row.currency, row.total]));
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
