import type { KnownEvent } from "@edgebank/consumer";
import type { Transaction } from "@edgebank/db";
import { type EventType, isEventOf } from "@edgebank/events";
import { newId } from "@edgebank/ids";
import { formatDecimal, money } from "@edgebank/money";
import { and, arrayContains, eq, isNull } from "drizzle-orm";
import { notifications, webhookDeliveries, webhooks } from "../db/schema.ts";

/** The events that become notifications (and webhook deliveries). */
export const notifiedEvents = [
  "AccountCredited",
  "TransferCompleted",
  "TransferFailed",
  "PaymentCompleted",
  "PaymentFailed",
  "PaymentCaptured",
  "PaymentRefunded",
  "OrderConfirmed",
  "OrderCancelled",
  "RolloutRolledBack",
  "RolloutPaused",
  "RolloutPromoted",
] as const satisfies readonly EventType[];
export type NotifiedEvent = (typeof notifiedEvents)[number];

export interface NotificationContent {
  userId: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
}

const amount = (minor: string, currency: string) => {
  try {
    return `${formatDecimal(money(minor, currency))} ${currency}`;
  } catch {
    return `${minor} (minor units) ${currency}`;
  }
};

/** Whom a payment event concerns and what each is told. */
function paymentNotifications(event: KnownEvent): NotificationContent[] {
  if (!isEventOf(event, "PaymentCompleted", "PaymentCaptured", "PaymentFailed", "PaymentRefunded")) return [];
  const data = event.data;
  const paid = amount(data.amount, data.currency);
  const facts = { paymentId: data.paymentId, amount: data.amount, currency: data.currency, reference: data.reference };
  const received: NotificationContent = {
    userId: data.merchantOwnerId,
    title: "Payment received",
    body: `${paid} received for ${data.reference} (merchant ${data.merchantId}).`,
    data: { ...facts, merchantId: data.merchantId },
  };
  switch (event.type) {
    case "PaymentCompleted":
      return [
        {
          userId: data.payerId,
          title: "Payment completed",
          body: `You paid ${paid} (${data.reference}).`,
          data: facts,
        },
        received,
      ];
    case "PaymentCaptured":
      // An order's payment: its buyer hears of the order (OrderConfirmed), its merchant here.
      return [received];
    case "PaymentFailed":
      return [
        {
          userId: data.payerId,
          title: "Payment failed",
          body: `Your payment of ${paid} (${data.reference}) did not go through: ${data.reason ?? "failed"}.`,
          data: { ...facts, reason: data.reason ?? null },
        },
      ];
    case "PaymentRefunded":
      return [
        {
          userId: data.payerId,
          title: "Refund received",
          body: `${amount(event.data.refundAmount, data.currency)} of your payment ${data.reference} came back to you.`,
          data: { ...facts, refundId: event.data.refundId, refundAmount: event.data.refundAmount },
        },
      ];
    default:
      return [];
  }
}

/** An order's end, told to its buyer. */
function orderNotifications(event: KnownEvent): NotificationContent[] {
  if (!isEventOf(event, "OrderConfirmed", "OrderCancelled")) return [];
  const data = event.data;
  const total = amount(data.total, data.currency);
  const facts = { orderId: data.orderId, total: data.total, currency: data.currency };
  if (event.type === "OrderConfirmed") {
    return [
      {
        userId: data.buyerId,
        title: "Order confirmed",
        body: `Your order of ${total} is paid and confirmed.`,
        data: facts,
      },
    ];
  }
  if (event.type === "OrderCancelled") {
    return [
      {
        userId: data.buyerId,
        title: "Order cancelled",
        body: `Your order of ${total} was cancelled: ${data.reason ?? "cancelled"}. Nothing was taken.`,
        data: { ...facts, reason: data.reason ?? null },
      },
    ];
  }
  return [];
}

/** A rollout that ended without its operator (or stopped for one), told to the operator who started it. */
function rolloutNotifications(event: KnownEvent): NotificationContent[] {
  if (!isEventOf(event, "RolloutRolledBack", "RolloutPaused", "RolloutPromoted")) return [];
  const data = event.data;
  const facts = { rolloutId: data.rolloutId, worker: data.worker, canaryVersionId: data.canaryVersionId };
  const titles = {
    RolloutRolledBack: ["Rollout rolled back", "was rolled back: all traffic is on the stable version again"],
    RolloutPaused: ["Rollout paused", "paused and waits for an operator"],
    RolloutPromoted: ["Rollout promoted", "was promoted: it serves all traffic"],
  } as const;
  const [title, what] = titles[event.type];
  return [
    {
      userId: data.startedBy,
      title,
      body: `${data.worker} ${data.canaryVersionId} ${what} (${data.reason}).`,
      data: { ...facts, reason: data.reason },
    },
  ];
}

/** A transfer's or a deposit's credit (`trf_…:credit`); a payment's credit is told as "Payment received". */
const transferCredit = /^trf_[0-9a-z]+:credit$/;

/**
 * Money that came into a customer's account by a transfer or a deposit, told to the account's
 * owner (the payer hears "Transfer completed"; a deposit has no payer to tell).
 */
function creditNotifications(event: KnownEvent): NotificationContent[] {
  if (!isEventOf(event, "AccountCredited")) return [];
  const data = event.data;
  if (!data.ownerId || !data.currency || !data.amount || !transferCredit.test(data.operationId)) return [];
  const transferId = data.operationId.slice(0, -":credit".length);
  return [
    {
      userId: data.ownerId,
      title: "Money received",
      body: `${amount(data.amount, data.currency)} arrived on ${data.accountId}.`,
      data: { accountId: data.accountId, transferId, amount: data.amount, currency: data.currency },
    },
  ];
}

/** Whom an event concerns and what each is told (none when it concerns no user). */
export function notificationsFor(event: KnownEvent): NotificationContent[] {
  if (event.type === "AccountCredited") return creditNotifications(event);
  if (event.type.startsWith("Payment")) return paymentNotifications(event);
  if (event.type.startsWith("Order")) return orderNotifications(event);
  if (event.type.startsWith("Rollout")) return rolloutNotifications(event);
  const single = notificationFor(event);
  return single ? [single] : [];
}

/** Whom a transfer event concerns and what they are told; undefined when it concerns no user. */
export function notificationFor(event: KnownEvent): NotificationContent | undefined {
  if (!isEventOf(event, "TransferCompleted", "TransferFailed")) return undefined;
  switch (event.type) {
    case "TransferCompleted":
    case "TransferFailed": {
      const data = event.data;
      // The payer of a customer's transfer; deposits and withdrawals are an operator's doing.
      if (data.kind !== "transfer" || !data.requestedBy) return undefined;
      const sent = amount(data.amount, data.currency);
      return event.type === "TransferCompleted"
        ? {
            userId: data.requestedBy,
            title: "Transfer completed",
            body: `${sent} moved from ${data.fromAccountId} to ${data.toAccountId}.`,
            data: { transferId: data.transferId, amount: data.amount, currency: data.currency },
          }
        : {
            userId: data.requestedBy,
            title: "Transfer failed",
            body: `${sent} from ${data.fromAccountId} to ${data.toAccountId} did not move: ${data.reason ?? "failed"}.`,
            data: {
              transferId: data.transferId,
              amount: data.amount,
              currency: data.currency,
              reason: data.reason ?? null,
            },
          };
    }
    default:
      return undefined;
  }
}

/**
 * An event's effect in this service, in the consumer's transaction (with the inbox row): each
 * concerned user's notification and one pending delivery per active endpoint of theirs that
 * wants it (a merchant's endpoint gets its PaymentCompleted).
 */
export async function recordNotification(tx: Transaction, event: KnownEvent): Promise<void> {
  for (const content of notificationsFor(event)) await notify(tx, event, content);
}

async function notify(tx: Transaction, event: KnownEvent, content: NotificationContent): Promise<void> {
  const [created] = await tx
    .insert(notifications)
    .values({
      id: newId("notification"),
      userId: content.userId,
      eventId: event.id,
      type: event.type,
      title: content.title,
      body: content.body,
      data: content.data,
    })
    .onConflictDoNothing()
    .returning({ id: notifications.id });
  if (!created) return;
  await queueDeliveries(tx, content.userId, event);
}

/** Pending deliveries of `event` to every active endpoint of `ownerId` subscribed to its type. */
export async function queueDeliveries(tx: Transaction, ownerId: string, event: KnownEvent): Promise<number> {
  const endpoints = await tx
    .select({ id: webhooks.id })
    .from(webhooks)
    .where(
      and(
        eq(webhooks.ownerId, ownerId),
        eq(webhooks.status, "active"),
        isNull(webhooks.deletedAt),
        arrayContains(webhooks.events, [event.type]),
      ),
    );
  if (endpoints.length === 0) return 0;
  await tx
    .insert(webhookDeliveries)
    .values(
      endpoints.map((endpoint) => ({
        id: newId("webhookDelivery"),
        webhookId: endpoint.id,
        eventId: event.id,
        eventType: event.type,
        payload: event as unknown as Record<string, unknown>,
      })),
    )
    .onConflictDoNothing();
  return endpoints.length;
}
