import {
  type Analysis,
  type Answers,
  analysisQueries,
  figuresFrom,
  judge,
  type RolloutState,
} from "@edgebank/durable-objects/rollout";
import { callRpc, traceOf } from "@edgebank/service/rpc";
import { queryAnalyticsEngine } from "@edgebank/telemetry";
import { deliveryConfig, ledgerOf } from "../service.ts";

/**
 * A step's analysis: the new and stable versions' figures over the step from the Analytics
 * Engine SQL API, and the money invariants from the ledger (its chain verified and a
 * reconciliation run now), judged by the rollout's thresholds.
 */
export async function analyzeStep(
  env: object,
  state: RolloutState,
  service: string,
  window: { since: number; until: number; minRequests: number },
): Promise<Analysis> {
  const config = deliveryConfig(env);
  const query = {
    dataset: config.METRICS_DATASET,
    service,
    stableVersionId: state.stableVersionId,
    canaryVersionId: state.canaryVersionId,
    seconds: (window.until - window.since) / 1000,
  };
  const api = {
    baseUrl: config.CLOUDFLARE_API_BASE_URL,
    accountId: config.CLOUDFLARE_ACCOUNT_ID,
    token: config.CLOUDFLARE_API_TOKEN,
  };
  const entries = await Promise.all(
    Object.entries(analysisQueries(query)).map(
      async ([name, sql]) => [name, (await queryAnalyticsEngine(api, sql)).data] as const,
    ),
  );
  const answers = Object.fromEntries(entries) as Answers;
  const { stable, canary, needsAttention } = figuresFrom(query, answers);
  const audit = await callRpc("ledger", "audit", (traceparent) =>
    ledgerOf(env).audit({ requestedBy: `rollout ${state.id}`, ...traceOf(traceparent) }),
  );
  if (audit.status !== "audited") throw new Error(`the ledger refused the audit: ${audit.detail}`);
  return judge(
    {
      stable,
      canary,
      invariants: { reconciliationMismatches: audit.mismatches, ledgerChainValid: audit.chainValid, needsAttention },
    },
    state.thresholds,
    window.minRequests,
  );
}
