import type { Database } from "@edgebank/db";
import { type Logger, recordMetric } from "@edgebank/http";
import { accountBalances } from "./clients/accounts.ts";
import { type ReconcileOptions, type ReconciliationReport, reconcile, saveReconciliation } from "./domain/reconcile.ts";
import { config } from "./service.ts";

/**
 * One reconciliation run against the accounts service, by the cron or an auditor: the report is
 * kept, every persisting mismatch is logged as an error with both figures, and the run is
 * counted in metrics (accounts checked, mismatches).
 */
export async function runReconciliation(
  env: object,
  db: Database,
  log: Logger,
  trigger: "cron" | "auditor",
  actor: string | null,
  options: ReconcileOptions = {},
): Promise<ReconciliationReport> {
  const report = await reconcile(db, accountBalances(env), options);
  await saveReconciliation(db, report, trigger, actor);
  for (const mismatch of report.mismatches) {
    log.error("ledger reconciliation mismatch", { reconciliationId: report.id, ...mismatch });
  }
  const { SERVICE_VERSION } = config(env);
  const context = { service: "ledger", version: SERVICE_VERSION };
  recordMetric(env, log, context, "ledger_reconciliation_accounts", report.accountsChecked, { trigger });
  recordMetric(env, log, context, "ledger_reconciliation_mismatches", report.mismatches.length, { trigger });
  log.info("ledger reconciliation", {
    reconciliationId: report.id,
    trigger,
    accountsChecked: report.accountsChecked,
    mismatches: report.mismatches.length,
    durationMs: report.finishedAt.getTime() - report.startedAt.getTime(),
  });
  return report;
}
