import { bindingWith, defineConfig } from "@edgebank/config";
import { AppError } from "@edgebank/errors";
import { forgetServiceToken, serviceToken } from "@edgebank/service";
import { z } from "zod";
import type { AccountBalance, BalanceSource } from "../domain/reconcile.ts";

/**
 * The accounts service's balances, over its service binding with the ledger's own machine
 * client (service scope accounts:reconcile, nothing that moves money).
 */
const bindings = defineConfig(
  z.object({ ACCOUNTS: bindingWith("fetch").transform((binding) => binding as unknown as Fetcher) }),
);

const SCOPE = "accounts:reconcile";

const page = z.object({
  items: z.array(z.object({ id: z.string(), currency: z.string(), posted: z.string().regex(/^-?[0-9]+$/) })),
  next: z.string().nullable(),
});

async function get(env: object, query: URLSearchParams): Promise<z.infer<typeof page>> {
  const token = await serviceToken(env, SCOPE);
  let response: Response;
  try {
    response = await bindings(env).ACCOUNTS.fetch(`https://accounts.internal/internal/v1/balances?${query}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new AppError("dependency_unavailable", "The accounts service did not answer.", { cause: error });
  }
  if (response.status === 401) forgetServiceToken(env, SCOPE);
  if (!response.ok) {
    throw new AppError("dependency_unavailable", `The accounts service answered ${response.status}.`, {
      cause: new Error((await response.text()).slice(0, 300)),
    });
  }
  return page.parse(await response.json());
}

const balances = (items: z.infer<typeof page>["items"]): AccountBalance[] =>
  items.map((item) => ({ id: item.id, currency: item.currency, posted: BigInt(item.posted) }));

export function accountBalances(env: object): BalanceSource {
  return {
    async page(after, limit) {
      const query = new URLSearchParams({ limit: String(limit) });
      if (after) query.set("after", after);
      const body = await get(env, query);
      return { items: balances(body.items), next: body.next };
    },
    async named(ids) {
      return balances((await get(env, new URLSearchParams({ ids: ids.join(",") }))).items);
    },
  };
}
