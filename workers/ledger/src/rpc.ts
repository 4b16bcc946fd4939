import { WorkerEntrypoint } from "cloudflare:workers";
import { type LedgerService, ledgerContract, type RecordInput, type RecordResult } from "@edgebank/contracts";
import { rpcServer } from "@edgebank/http";
import { record } from "./services/record.ts";

const serve = rpcServer("ledger", "LedgerRpc", ledgerContract);

/**
 * The ledger's internal contract (`ledgerContract` in @edgebank/contracts) as Workers RPC:
 * transfers and payments bind to this entrypoint with `props.caller` naming themselves.
 */
export class LedgerRpc extends WorkerEntrypoint<Env> implements LedgerService {
  /** Records a completed movement as one balanced entry at the head of the chain, once per id. */
  record(input: RecordInput): Promise<RecordResult> {
    return serve(this.env, this.ctx, "record", input, ({ traceparent: _, ...entry }) => record(this.env, entry));
  }
}
