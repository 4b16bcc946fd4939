import { z } from "zod";

/**
 * Every event edgebank publishes: its type, version, producing service, Kafka topic and the
 * schema of its `data`. Producers validate before publishing and consumers after reading, both
 * from this one table, so the two sides cannot drift apart. A breaking change is a new version
 * (a new entry), published beside the old one until every consumer reads it.
 */

const minorUnits = z
  .string()
  .regex(/^-?[0-9]{1,19}$/)
  .describe("integer minor units, as a decimal string");
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .describe("ISO 4217 code");

const accountMovement = z.object({
  accountId: z.string(),
  ownerId: z
    .string()
    .optional()
    .describe("the owner of a customer's account (absent for settlement accounts, and in events before it was added)"),
  currency: currency.optional().describe("the account's currency (absent in events before it was added)"),
  operationId: z.string().describe("the caller's operation id (`<transfer>:<step>` for a saga)"),
  amount: minorUnits.optional(),
  holdId: z.string().optional(),
  actor: z.string().optional().describe("the operator, for operator actions"),
  posted: minorUnits,
  pending: minorUnits,
  available: minorUnits,
});

const accountStatus = accountMovement.extend({ status: z.enum(["active", "frozen", "closed"]) });

const transferOutcome = z.object({
  transferId: z.string(),
  fromAccountId: z.string(),
  toAccountId: z.string(),
  amount: minorUnits,
  currency,
  status: z.enum(["COMPLETED", "FAILED", "NEEDS_ATTENTION"]),
  reason: z.string().optional().describe("why it failed or needs a person"),
  kind: z.enum(["transfer", "deposit", "withdrawal"]).optional().describe("absent in events before it was added"),
  requestedBy: z.string().optional().describe("who asked for it: the payer's user id for a transfer"),
});

const payment = z.object({
  paymentId: z.string(),
  payerId: z.string().describe("the paying user"),
  payerAccountId: z.string(),
  merchantId: z.string(),
  merchantOwnerId: z.string().describe("the merchant's user"),
  merchantAccountId: z.string(),
  amount: minorUnits,
  currency,
  reference: z.string(),
  status: z.enum(["PENDING", "AUTHORIZED", "COMPLETED", "FAILED", "VOIDED"]),
  refundedAmount: minorUnits,
  reason: z.string().optional().describe("why it failed"),
  orderId: z.string().optional().describe("the order it pays, for an order's payment"),
});

const refund = payment.extend({
  refundId: z.string(),
  refundAmount: minorUnits.describe("this refund"),
});

const order = z.object({
  orderId: z.string(),
  buyerId: z.string(),
  payerAccountId: z.string(),
  merchantId: z.string(),
  currency,
  total: minorUnits,
  lines: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive(), unitPrice: minorUnits })),
  status: z.enum(["PENDING", "PAYMENT_AUTHORIZED", "CONFIRMED", "CANCELLED"]),
  reason: z.string().optional().describe("why it was cancelled"),
});

const stock = z.object({
  orderId: z.string(),
  reservationId: z.string(),
  status: z.enum(["HELD", "REJECTED", "COMMITTED", "RELEASED", "EXPIRED"]),
  reason: z.string().optional().describe("why it was rejected"),
});

const rollout = z.object({
  rolloutId: z.string(),
  worker: z.string().describe("the Worker rolled out, as Cloudflare names it"),
  startedBy: z.string().describe("the operator who started the rollout"),
  stableVersionId: z.string(),
  canaryVersionId: z.string().describe("the new version"),
  reason: z.string().describe("the analysis, probe or operator that decided"),
});

interface EventDefinition<S extends z.ZodType = z.ZodType> {
  version: number;
  service: "accounts" | "transfers" | "payments" | "orders" | "inventory" | "delivery";
  topic: string;
  description: string;
  data: S;
}

// Each helper keeps its schema's type, so consumers read `data` typed by the catalog itself.
function accounts(description: string): EventDefinition<typeof accountMovement>;
function accounts<S extends z.ZodType>(description: string, data: S): EventDefinition<S>;
function accounts(description: string, data: z.ZodType = accountMovement): EventDefinition {
  return { version: 1, service: "accounts", topic: "edgebank.accounts", description, data };
}
const transfers = (description: string): EventDefinition<typeof transferOutcome> => ({
  version: 1,
  service: "transfers",
  topic: "edgebank.transfers",
  description,
  data: transferOutcome,
});

function payments(description: string): EventDefinition<typeof payment>;
function payments<S extends z.ZodType>(description: string, data: S): EventDefinition<S>;
function payments(description: string, data: z.ZodType = payment): EventDefinition {
  return { version: 1, service: "payments", topic: "edgebank.payments", description, data };
}

const orders = (description: string): EventDefinition<typeof order> => ({
  version: 1,
  service: "orders",
  topic: "edgebank.orders",
  description,
  data: order,
});

const inventory = (description: string): EventDefinition<typeof stock> => ({
  version: 1,
  service: "inventory",
  topic: "edgebank.inventory",
  description,
  data: stock,
});

const delivery = (description: string): EventDefinition<typeof rollout> => ({
  version: 1,
  service: "delivery",
  topic: "edgebank.delivery",
  description,
  data: rollout,
});

export const eventCatalog = {
  AccountCredited: accounts("Money came into an account (a transfer's credit, a deposit)."),
  AccountDebited: accounts("Money left an account directly."),
  HoldPlaced: accounts("Part of an account's available balance was reserved."),
  HoldCaptured: accounts("A hold was taken (in whole or in part); the rest was released."),
  HoldReleased: accounts("A hold was released or expired; the money is available again."),
  CreditLimitChanged: accounts(
    "An operator set an account's credit limit.",
    accountMovement.extend({ creditLimit: minorUnits }),
  ),
  AccountFrozen: accounts("An operator froze an account.", accountStatus),
  AccountUnfrozen: accounts("An operator unfroze an account.", accountStatus),
  AccountClosed: accounts("An operator closed an account.", accountStatus),
  TransferCompleted: transfers("A transfer's saga finished: the money moved and is in the ledger."),
  TransferFailed: transfers("A transfer failed (or was compensated); nothing moved in the end."),
  TransferNeedsAttention: transfers("A transfer's saga stopped and waits for an operator."),
  PaymentCreated: payments("A payer asked to pay a merchant; nothing has moved yet."),
  PaymentCompleted: payments("A direct payment was authorized and captured: the merchant has the money."),
  PaymentFailed: payments("A direct payment failed (refused, or undone); nothing moved in the end."),
  PaymentRefunded: payments("Part or all of a payment went back from the merchant to the payer.", refund),
  PaymentAuthorized: payments("An order's payment is authorized: the amount is held on the payer's account."),
  PaymentDeclined: payments(
    "An order's payment was refused (funds, account, currency) or could not be taken; nothing moved in the end.",
  ),
  PaymentCaptured: payments("An order's payment was captured: the merchant has the money and the ledger its entry."),
  PaymentVoided: payments("An order's authorized payment was let go: the hold is released, nothing moved."),
  StockReserved: inventory("An order's lines are set aside until it is confirmed or cancelled."),
  StockRejected: inventory("An order's lines could not be set aside (out of stock, unknown product)."),
  OrderCreated: orders("A buyer ordered a merchant's products; payment and stock follow by events."),
  OrderConfirmed: orders("An order is paid and its stock committed."),
  OrderCancelled: orders("An order ended without payment or stock (declined, out of stock, cancelled)."),
  RolloutPromoted: delivery("A new Worker version passed every step of its rollout and serves all traffic."),
  RolloutRolledBack: delivery(
    "A new Worker version failed an analysis or its probes: all traffic is back on the stable one.",
  ),
  RolloutAborted: delivery("An operator aborted a rollout: all traffic is back on the stable version."),
  RolloutPaused: delivery("A rollout stopped for an operator (too little traffic to judge, or a pause)."),
} satisfies Record<string, EventDefinition>;

export type EventType = keyof typeof eventCatalog;

/** The `data` of an event of type T, as the catalog's schema gives it. */
export type EventData<T extends EventType> = z.output<(typeof eventCatalog)[T]["data"]>;

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventCatalog, type);
}
