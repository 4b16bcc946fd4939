import type { AuditResult } from "@edgebank/contracts";
import { withDatabase } from "@edgebank/db";
import { createLogger } from "@edgebank/http";
import { verifyChain } from "../domain/verify.ts";
import { runReconciliation } from "../reconciliation.ts";
import { checkpointKey, config, serviceSettings } from "../service.ts";

/**
 * The books checked on demand for another service (a rollout's analysis): the hash chain and
 * its checkpoints verified, and a reconciliation with the accounts run and kept, recorded with
 * who asked. Only reads money.
 */
export async function audit(env: object, requestedBy: string): Promise<AuditResult> {
  const { SERVICE_VERSION, LOG_LEVEL } = config(env);
  const log = createLogger({ service: "ledger", version: SERVICE_VERSION }, LOG_LEVEL);
  return withDatabase(serviceSettings(env), async (db) => {
    const chain = await verifyChain(db, await checkpointKey(env));
    const report = await runReconciliation(env, db, log, "auditor", requestedBy);
    return {
      status: "audited",
      chainValid: chain.valid,
      entries: chain.entries,
      reconciliationId: report.id,
      accountsChecked: report.accountsChecked,
      mismatches: report.mismatches.length,
    };
  });
}
