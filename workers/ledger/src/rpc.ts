import { WorkerEntrypoint } from "cloudflare:workers";
import { type LedgerService, ledgerContract, type RecordInput, type RecordResult } from "@edgebank/contracts";
import { serveRpc } from "@edgebank/http";
import { record } from "./services/record.ts";

/**
 * The ledger's internal contract (`ledgerContract` in @edgebank/contracts) as Workers RPC:
 * transfers and payments bind to this entrypoint with `props.caller` naming themselves.
 */
export class LedgerRpc extends WorkerEntrypoint<Env> implements LedgerService {
  /** Records a completed movement as one balanced entry at the head of the chain, once per id. */
  record(input: RecordInput): Promise<RecordResult> {
    return serveRpc(
      {
        service: "ledger",
        entrypoint: "LedgerRpc",
        method: "record",
        contract: ledgerContract.record,
        env: this.env,
        ctx: this.ctx,
        input,
      },
      ({ traceparent: _, ...entry }) => record(this.env, entry),
    );
  }
}
