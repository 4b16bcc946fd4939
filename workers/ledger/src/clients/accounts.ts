import { bindingWith, defineConfig } from "@edgebank/config";
import type { AccountsService, BalancesInput } from "@edgebank/contracts";
import { AppError } from "@edgebank/errors";
import { callRpc, traceOf } from "@edgebank/service/rpc";
import { z } from "zod";
import type { AccountBalance, BalanceSource } from "../domain/reconcile.ts";

/**
 * The accounts service's posted balances, over its AccountsRpc entrypoint (bound with
 * `props.caller = "ledger"`, which may read balances and nothing that moves money).
 */
const bindings = defineConfig(
  z.object({ ACCOUNTS: bindingWith("fetch").transform((binding) => binding as unknown as AccountsService) }),
);

async function page(env: object, query: BalancesInput) {
  const result = await callRpc("accounts", "balances", (traceparent) =>
    bindings(env).ACCOUNTS.balances({ ...query, ...traceOf(traceparent) }),
  );
  if (result.status !== "found") {
    throw new AppError("internal", `The accounts service refused the ledger's call: ${result.detail}`);
  }
  return {
    items: result.items.map(
      (item): AccountBalance => ({ id: item.id, currency: item.currency, posted: BigInt(item.posted) }),
    ),
    next: result.next,
  };
}

export function accountBalances(env: object): BalanceSource {
  return {
    page: (after, limit) => page(env, { limit, ...(after ? { after } : {}) }),
    async named(ids) {
      return (await page(env, { ids, limit: ids.length })).items;
    },
  };
}
