/**
 * The ledger Worker as the test builds run it (`EDGEBANK_TEST_FAULTS=true`): src/index.ts, with
 * one deliberate bug the chaos checker must catch, switched on by `EDGEBANK_BROKEN=
 * lost-ledger-entry` (see @edgebank/durable-objects/flow/testing): a movement answered as
 * recorded that was never stored. Never deployed: production runs src/index.ts.
 */
import type { RecordInput, RecordResult } from "@edgebank/contracts";
import { hits, isBroken } from "@edgebank/durable-objects/flow/testing";
import worker from "../src/index.ts";
import { LedgerRpc as LedgerRpcClass } from "../src/rpc.ts";

export * from "../src/index.ts";

export class LedgerRpc extends LedgerRpcClass {
  override async record(input: RecordInput): Promise<RecordResult> {
    if (!isBroken(this.env, "lost-ledger-entry") || !hits(input.transferId)) return super.record(input);
    const { transferId, description, postings } = input;
    return {
      status: "applied",
      replayed: false,
      entry: {
        id: `led_lost_${transferId}`,
        sequence: "0",
        transferId,
        description,
        recordedAt: new Date().toISOString(),
        previousHash: "",
        hash: "",
        postings,
      },
    };
  }
}

export default worker;
