import { type AccountsService, accountsContract } from "./accounts.ts";
import { type InventoryService, inventoryContract } from "./inventory.ts";
import { type LedgerService, ledgerContract } from "./ledger.ts";
import { type PaymentsService, paymentsContract } from "./payments.ts";

/** A contract with an entry for every method of the service's interface (which its class implements). */
type Covering<Service> = Record<keyof Service, unknown>;

/**
 * Every Workers RPC entrypoint of the system, by the class name its Worker exports and its
 * callers' bindings name (`entrypoint = "AccountsRpc"`), with the contract whose methods it
 * serves. Whatever stands between a caller and the entrypoint (the local traffic router) serves
 * exactly these methods.
 */
export const rpcEntrypoints = {
  AccountsRpc: accountsContract satisfies Covering<AccountsService>,
  InventoryRpc: inventoryContract satisfies Covering<InventoryService>,
  LedgerRpc: ledgerContract satisfies Covering<LedgerService>,
  PaymentsRpc: paymentsContract satisfies Covering<PaymentsService>,
} as const;
