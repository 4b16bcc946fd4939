import { WorkerEntrypoint } from "cloudflare:workers";
import {
  type AuditInput,
  type AuditResult,
  type LedgerService,
  ledgerContract,
  type RecordInput,
  type RecordResult,
} from "@edgebank/contracts";
import { rpcServer } from "@edgebank/http";
import { audit } from "./services/audit.ts";
import { record } from "./services/record.ts";

const serve = rpcServer("ledger", "LedgerRpc", ledgerContract);

/**
 * The ledger's internal contract (`ledgerContract` in @edgebank/contracts) as Workers RPC:
 * transfers, payments and delivery bind to this entrypoint with `props.caller` naming themselves.
 */
export class LedgerRpc extends WorkerEntrypoint<Env> implements LedgerService {
  /** Records a completed movement as one balanced entry at the head of the chain, once per id. */
  record(input: RecordInput): Promise<RecordResult> {
    return serve(this.env, this.ctx, "record", input, ({ traceparent: _, ...entry }) => record(this.env, entry));
  }

  /** Verifies the chain and reconciles the ledger with the accounts now (a rollout's money invariants). */
  audit(input: AuditInput): Promise<AuditResult> {
    return serve(this.env, this.ctx, "audit", input, ({ requestedBy }) => audit(this.env, requestedBy));
  }
}
