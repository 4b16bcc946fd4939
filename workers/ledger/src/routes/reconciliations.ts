import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ON_DEMAND_SETTLE_DELAYS } from "../domain/reconcile.ts";
import { runReconciliation } from "../reconciliation.ts";
import { latestReconciliations, type ReconciliationRow } from "../repo/reconciliations.ts";

const mismatch = z.object({
  accountId: z.string(),
  currency: z.string(),
  accounts: z.string().nullable().describe("posted balance in the accounts service; null: unknown there"),
  ledger: z.string().describe("sum of the account's postings"),
  difference: z.string().describe("accounts − ledger"),
});

const reconciliation = z
  .object({
    id: z.string(),
    trigger: z.enum(["cron", "auditor"]),
    actor: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string(),
    accountsChecked: z.number(),
    mismatches: z.array(mismatch),
  })
  .openapi("LedgerReconciliation");

const runRoute = createRoute({
  method: "post",
  path: "/v1/ledger/reconciliations",
  tags: ["ledger", "auditor"],
  summary: "Auditor: reconcile every account's ledger balance with its posted balance now",
  description:
    "What the hourly cron does, on demand. Differences are checked again over about five seconds " +
    "(a transfer in flight moves the accounts before the ledger); what persists is reported, " +
    "logged as an error and counted. The run only reads money; its report is kept.",
  security: [{ bearer: [] }],
  middleware: [authenticated("auditor")] as const,
  responses: {
    201: { description: "The run's report", content: { "application/json": { schema: reconciliation } } },
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/ledger/reconciliations",
  tags: ["ledger", "auditor"],
  summary: "Auditor: the latest reconciliation runs, newest first",
  security: [{ bearer: [] }],
  middleware: [authenticated("auditor")] as const,
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(50).default(10) }) },
  responses: {
    200: {
      description: "Recent runs",
      content: { "application/json": { schema: z.object({ items: z.array(reconciliation) }) } },
    },
  },
});

const present = (row: Omit<ReconciliationRow, "mismatchCount">) => ({
  id: row.id,
  trigger: row.trigger,
  actor: row.actor,
  startedAt: row.startedAt.toISOString(),
  finishedAt: row.finishedAt.toISOString(),
  accountsChecked: row.accountsChecked,
  mismatches: row.mismatches,
});

export function registerReconciliationRoutes(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(runRoute, async (c) => {
    const actor = c.var.principal.subject;
    const report = await runReconciliation(c.env, c.var.db(), c.var.log, "auditor", actor, {
      settleDelays: ON_DEMAND_SETTLE_DELAYS,
    });
    c.header("cache-control", "no-store");
    return c.json(present({ ...report, trigger: "auditor", actor }), 201);
  });

  app.openapi(listRoute, async (c) => {
    const { limit } = c.req.valid("query");
    const rows = await latestReconciliations(c.var.db(), limit);
    c.header("cache-control", "no-store");
    return c.json({ items: rows.map(present) }, 200);
  });
}
