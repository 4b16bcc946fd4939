import { KeptDatabase, openDatabase } from "@edgebank/db";
import { FlowObject, type FlowShellSettings } from "@edgebank/durable-objects/flow/shell";
import {
  type TransferState,
  type TransferStep,
  type TransferSubject,
  transferFlow,
} from "@edgebank/durable-objects/transfer";
import { pokeOutboxRelay } from "@edgebank/outbox/durable-object";
import { operateAccount, recordInLedger, TransientFailure } from "@edgebank/service/clients";
import { currentTraceparent } from "@edgebank/telemetry";
import { settleTransfer } from "../domain/settlement.ts";
import { serviceSettings } from "../service.ts";

export { COMPENSATED_BY_OPERATOR } from "@edgebank/durable-objects/transfer";

/** What a saga moves (see durable-objects/transfer). */
export type SagaTransfer = TransferSubject;
export type SagaStep = TransferStep;
export type SagaState = TransferState;

/**
 * One transfer's (deposit's, withdrawal's) saga: durable-objects/transfer's steps in the flow
 * shell (durable-objects/flow/shell), addressed by the transfer's id. The steps call the accounts
 * and the ledger over RPC and settle the transfer's row; the route's `begin` runs them.
 */
export class TransferSagaDO extends FlowObject<SagaStep, SagaTransfer, Env> {
  /** The settlements' connection, kept while the object is busy (one per host, not one per transfer). */
  readonly #database = new KeptDatabase(() => openDatabase(serviceSettings(this.env)));

  protected definition() {
    return transferFlow({
      operate: (accountId, operation, traceparent) => operateAccount(this.env, accountId, operation, traceparent),
      record: (entry, traceparent) => recordInLedger(this.env, { ...entry, ...(traceparent ? { traceparent } : {}) }),
      settle: async (transferId, outcome, traceparent, answerTo) => {
        const answer = await settleTransfer(this.#database.db(), this.env, transferId, outcome, traceparent, answerTo);
        // Its outcome event leaves through the service's relay object, after the answer; a lost
        // poke leaves it for the cron sweeper.
        this.ctx.waitUntil(
          pokeOutboxRelay(this.env.OUTBOX_RELAY, "transfers", currentTraceparent() ?? traceparent).catch(
            () => undefined,
          ),
        );
        // The flow's result: the route answers with it, without reading the row again.
        return { ...answer };
      },
    });
  }

  protected settings(): FlowShellSettings {
    return {
      service: "transfers",
      object: "TransferSagaDO",
      noun: "saga",
      stateKey: "saga",
      idAttribute: "edgebank.transfer_id",
      stepMetric: "saga_step",
      transient: (error) => (error instanceof TransientFailure ? error.what : undefined),
    };
  }
}
