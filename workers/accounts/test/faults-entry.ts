/**
 * The accounts Worker as the test builds run it (`EDGEBANK_TEST_FAULTS=true`): src/index.ts,
 * with one deliberate bug the chaos checker must catch, switched on by `EDGEBANK_BROKEN=
 * apply-twice` (see @edgebank/durable-objects/flow/testing): a flow's credit applied a second
 * time under another operation id. Never deployed: production runs src/index.ts.
 */
import type { OperateInput, OperateResult } from "@edgebank/contracts";
import { hits, isBroken } from "@edgebank/durable-objects/flow/testing";
import worker from "../src/index.ts";
import { AccountsRpc as AccountsRpcClass } from "../src/rpc.ts";

export * from "../src/index.ts";

export class AccountsRpc extends AccountsRpcClass {
  override async operate(input: OperateInput): Promise<OperateResult> {
    const result = await super.operate(input);
    const { operation } = input;
    if (isBroken(this.env, "apply-twice") && operation.kind === "credit" && hits(operation.operationId)) {
      await super.operate({ ...input, operation: { ...operation, operationId: `${operation.operationId}:again` } });
    }
    return result;
  }
}

export default worker;
