import type { KnownEvent } from "@edgebank/consumer";
import type { Transaction } from "@edgebank/db";
import type { EventType } from "@edgebank/events";
import { newId } from "@edgebank/ids";
import { formatDecimal, money } from "@edgebank/money";
import { and, arrayContains, eq, isNull } from "drizzle-orm";
import { notifications, webhookDeliveries, webhooks } from "../db/schema.ts";

/** The events that become notifications (and webhook deliveries). */
export const notifiedEvents = ["TransferCompleted", "TransferFailed"] as const satisfies readonly EventType[];
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

/** Whom an event concerns and what they are told; undefined when it concerns no user. */
export function notificationFor(event: KnownEvent): NotificationContent | undefined {
  switch (event.type) {
    case "TransferCompleted":
    case "TransferFailed": {
      const data = event.data as {
        transferId: string;
        fromAccountId: string;
        toAccountId: string;
        amount: string;
        currency: string;
        reason?: string;
        kind?: string;
        requestedBy?: string;
      };
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
 * An event's effect in this service, in the consumer's transaction (with the inbox row): the
 * user's notification and one pending delivery per active endpoint of theirs that wants it.
 */
export async function recordNotification(tx: Transaction, event: KnownEvent): Promise<void> {
  const content = notificationFor(event);
  if (!content) return;
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
