import { WorkerEntrypoint } from "cloudflare:workers";
import {
  type AccountsService,
  accountsContract,
  type BalancesInput,
  type BalancesResult,
  type OperateInput,
  type OperateResult,
  type SettlementInput,
  type SettlementResult,
  type SummaryInput,
  type SummaryResult,
} from "@edgebank/contracts";
import { rpcServer } from "@edgebank/http";
import { currentTraceparent } from "@edgebank/telemetry";
import { balancesOf, operate, settlementAccountOf, summaryOf } from "./services/operations.ts";

const serve = rpcServer("accounts", "AccountsRpc", accountsContract);

/**
 * The accounts service's internal contract (`accountsContract` in @edgebank/contracts) as Workers
 * RPC: transfers and payments bind to this entrypoint with `props.caller` naming themselves, and
 * each method admits only the callers its contract lists. Refusals come back as results with
 * their reason; what throws (an unreachable database, an overloaded object) may be retried.
 */
export class AccountsRpc extends WorkerEntrypoint<Env> implements AccountsService {
  /** Credit, debit, hold, capture or release, idempotent by operation id. */
  operate(input: OperateInput): Promise<OperateResult> {
    return serve(this.env, this.ctx, "operate", input, ({ accountId, operation, traceparent }) =>
      operate(this.env, accountId, operation, currentTraceparent() ?? traceparent),
    );
  }

  /** An account's owner, currency, status and balances, from its AccountDO. */
  summary(input: SummaryInput): Promise<SummaryResult> {
    return serve(this.env, this.ctx, "summary", input, async ({ accountId }) => {
      const account = await summaryOf(this.env, accountId);
      return account ? { status: "found" as const, account } : { status: "not_found" as const };
    });
  }

  /** The bank's settlement account of a currency (counterpart of deposits and withdrawals). */
  settlementAccount(input: SettlementInput): Promise<SettlementResult> {
    return serve(this.env, this.ctx, "settlementAccount", input, async ({ currency }) => {
      const accountId = await settlementAccountOf(this.env, currency);
      return accountId ? { status: "found" as const, accountId } : { status: "not_found" as const };
    });
  }

  /** Posted balances by pages in id order, or of named accounts: the ledger's reconciliation. */
  balances(input: BalancesInput): Promise<BalancesResult> {
    return serve(this.env, this.ctx, "balances", input, (query) => balancesOf(this.env, query));
  }
}
