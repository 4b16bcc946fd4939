import { KeptDatabase, openDatabase } from "@edgebank/db";
import type { Json } from "@edgebank/durable-objects/flow";
import { FlowObject, type FlowShellSettings } from "@edgebank/durable-objects/flow/shell";
import {
  type TransferState,
  type TransferStep,
  type TransferSubject,
  transferFlow,
} from "@edgebank/durable-objects/transfer";
import { type ErrorCode, isAppError } from "@edgebank/errors";
import { pokeOutboxRelay } from "@edgebank/outbox/durable-object";
import { operateAccount, recordInLedger, TransientFailure } from "@edgebank/service/clients";
import { currentTraceparent } from "@edgebank/telemetry";
import { isFinal, transferAnswer } from "../domain/answers.ts";
import { settleTransfer } from "../domain/settlement.ts";
import { beginTransfer, storeResponse, type TransferRow } from "../domain/transfers.ts";
import { serviceSettings } from "../service.ts";

export { COMPENSATED_BY_OPERATOR } from "@edgebank/durable-objects/transfer";

/** What a saga moves (see durable-objects/transfer). */
export type SagaTransfer = TransferSubject;
export type SagaStep = TransferStep;
export type SagaState = TransferState;

/** A transfer request as the route hands it over: the saga's subject (its id drawn by the route) and the request's fingerprint. */
export interface TransferRequest {
  subject: SagaTransfer & { answerTo: NonNullable<SagaTransfer["answerTo"]> };
  fingerprint: string;
}

/**
 * What a submitted request came to: the saga begun and run (its state after the wait, and the
 * row as begun), the key's stored answer (a repeat), the key's earlier transfer to resume (it
 * lives in its own host), or a refusal of the key (in progress, reused with another request).
 */
export type Submitted =
  | { kind: "begun"; transfer: TransferRow; state: SagaState | undefined }
  | { kind: "replay"; status: number; body: JsonObject }
  | { kind: "resume"; transfer: TransferRow }
  | { kind: "refused"; code: ErrorCode; detail: string; extensions: JsonObject; headers: Record<string, string> };

/** A JSON object as it crosses RPC (a stored answer, a problem's extensions). */
type JsonObject = { [key: string]: Json };

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

  /**
   * A transfer request from its Idempotency-Key to its outcome, in the host of its saga: the
   * key's record and the transfer's row in one commit on the host's kept connection (so the
   * route opens no database session), then the saga run in this call for at most `waitMs`. A
   * key used before answers what its first request was told (a settled one's answer is stored
   * now), or names the transfer to resume; refusals come back as values (an error's class does
   * not cross RPC).
   */
  async submit(request: TransferRequest, waitMs: number): Promise<Submitted> {
    const { subject, fingerprint } = request;
    const { principal, key } = subject.answerTo;
    const db = this.#database.db();
    let begun: Awaited<ReturnType<typeof beginTransfer>>;
    try {
      begun = await beginTransfer(db, { requestedBy: principal, key, fingerprint }, subject.id, {
        kind: subject.kind,
        fromAccountId: subject.fromAccountId,
        toAccountId: subject.toAccountId,
        amount: BigInt(subject.amount),
        currency: subject.currency,
        description: subject.description,
      });
    } catch (error) {
      if (!isAppError(error)) throw error;
      return {
        kind: "refused",
        code: error.code,
        detail: error.message,
        // A problem's extensions are JSON (they are rendered into its document).
        extensions: error.extensions as JsonObject,
        headers: error.headers,
      };
    }
    switch (begun.kind) {
      case "new":
        return { kind: "begun", transfer: begun.transfer, state: await this.begin(subject, waitMs) };
      case "resume":
        return { kind: "resume", transfer: begun.transfer };
      case "replay":
        // A stored answer is JSON (a jsonb column).
        return { kind: "replay", status: begun.status, body: begun.body as JsonObject };
      case "settled": {
        // The first request's answer was lost, but its saga ended: that outcome is the key's answer.
        const answer = transferAnswer(begun.transfer, subject.answerTo);
        if (isFinal(answer)) await storeResponse(db, principal, key, answer.status, answer.body);
        return { kind: "replay", status: answer.status, body: answer.body };
      }
    }
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
