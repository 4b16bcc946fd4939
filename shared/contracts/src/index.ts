export {
  type AccountOperation,
  type AccountRefusalReason,
  type AccountSummary,
  type AccountsService,
  accountId,
  accountOperation,
  accountSummary,
  accountsContract,
  type Balances,
  type BalancesInput,
  type BalancesResult,
  currencyCode,
  minorUnits,
  type OperateInput,
  type OperateResult,
  reference,
  refusalDetail,
  refusalDetails,
  type SettlementInput,
  type SettlementResult,
  type SummaryInput,
  type SummaryResult,
} from "./accounts.ts";
export { rpcEntrypoints } from "./entrypoints.ts";
export {
  type CatalogueProduct,
  type InventoryService,
  inventoryContract,
  type ProductInput,
  type ProductResult,
  sku,
} from "./inventory.ts";
export {
  type AuditInput,
  type AuditResult,
  type LedgerEntry,
  type LedgerEntryInput,
  type LedgerService,
  ledgerContract,
  ledgerEntryInput,
  type RecordInput,
  type RecordResult,
} from "./ledger.ts";
export {
  type MerchantSummary,
  type MerchantsOfInput,
  type MerchantsOfResult,
  type PaymentsService,
  paymentsContract,
} from "./payments.ts";
export { type Access, type PublicRoute, publicRouteOf, publicRoutes } from "./public-routes.ts";
export { admit, type ContractRefusal, callerOf, type RpcContract, type RpcMethod } from "./rpc.ts";
export { type DownstreamService, downstreamServices, type ServiceName, serviceNames } from "./services.ts";
