import { type Database, KeptDatabase, openDatabase } from "@edgebank/db";
import type { FlowShellSettings } from "@edgebank/durable-objects/flow/shell";
import type { MoneyPorts } from "@edgebank/durable-objects/payment";
import { pokeOutboxRelay } from "@edgebank/outbox/durable-object";
import { operateAccount, recordInLedger, TransientFailure } from "@edgebank/service/clients";
import { currentTraceparent } from "@edgebank/telemetry";
import { serviceSettings } from "../service.ts";

/**
 * A payment's or a refund's ports: the accounts and the ledger over RPC, and `settle` (the row
 * and its event in one transaction, on the host's kept connection), after which the event leaves through the service's relay
 * object, once the answer is out (a lost poke leaves it for the cron sweeper).
 */
export function moneyPorts<Settlement>(
  env: Env,
  ctx: DurableObjectState,
  database: KeptDatabase,
  settle: (db: Database, env: object, id: string, outcome: Settlement, traceparent?: string) => Promise<void>,
): MoneyPorts<Settlement> {
  return {
    operate: (accountId, operation, traceparent) => operateAccount(env, accountId, operation, traceparent),
    record: (entry, traceparent) => recordInLedger(env, { ...entry, ...(traceparent ? { traceparent } : {}) }),
    settle: async (id, outcome, traceparent) => {
      await settle(database.db(), env, id, outcome, traceparent);
      ctx.waitUntil(
        pokeOutboxRelay(env.OUTBOX_RELAY, "payments", currentTraceparent() ?? traceparent).catch(() => undefined),
      );
    },
  };
}

/** The payments service's flow shells: how each is named, stored and retried. */
export function paymentsFlowSettings(
  names: Pick<FlowShellSettings, "object" | "noun" | "stepMetric">,
): FlowShellSettings {
  return {
    service: "payments",
    stateKey: "flow",
    idAttribute: `edgebank.${names.noun}_id`,
    transient: (error) => (error instanceof TransientFailure ? error.what : undefined),
    ...names,
  };
}

/** A flow host's kept connection to the payments database (one per host, not one per flow). */
export function keptPaymentsDatabase(env: Env): KeptDatabase {
  return new KeptDatabase(() => openDatabase(serviceSettings(env)));
}
