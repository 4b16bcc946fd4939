import { deadLetterTable, inboxTable } from "@edgebank/consumer/table";
import { sql } from "drizzle-orm";
import { check, index, integer, jsonb, pgSchema, text, timestamp, unique } from "drizzle-orm/pg-core";

/** Every table of the notifications service lives in this schema of the notifications database. */
export const notificationsSchema = pgSchema("notifications");

/** Events this service applied (once each), and those it could not (for operators to redrive). */
export const inbox = inboxTable(notificationsSchema);
export const deadLetters = deadLetterTable(notificationsSchema);

/**
 * A user's inbox: one notification per event that concerns them (unique per user and event,
 * besides the consumer's inbox), newest first, read or not.
 */
export const notifications = notificationsSchema.table(
  "notifications",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    readAt: timestamp("read_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    unique("notifications_user_event_uq").on(t.userId, t.eventId),
    index("notifications_user_idx").on(t.userId, t.id),
    // What a consumer batch just recorded, read back to be sent live.
    index("notifications_event_idx").on(t.eventId),
  ],
);

export const webhookStatuses = ["active", "disabled"] as const;

/**
 * Webhook endpoints: where a user (or merchant) wants the events that concern them POSTed.
 * The signing secret is kept sealed (AES-256-GCM under WEBHOOK_SECRET_KEY, the endpoint id as
 * associated data); it is shown once, when the endpoint is registered. An endpoint whose
 * deliveries keep failing is disabled and its owner notified.
 */
export const webhooks = notificationsSchema.table(
  "webhooks",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id").notNull(),
    url: text("url").notNull(),
    events: text("events").array().notNull(),
    sealedSecret: text("sealed_secret").notNull(),
    status: text("status", { enum: webhookStatuses }).notNull().default("active"),
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    disabledReason: text("disabled_reason"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    deletedAt: timestamp("deleted_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    index("webhooks_owner_idx").on(t.ownerId),
    check("webhooks_events_nonempty", sql`cardinality(${t.events}) > 0`),
  ],
);

export const deliveryStatuses = ["pending", "delivered", "failed", "abandoned"] as const;

/**
 * One event for one endpoint, written with the notification (same transaction), then POSTed,
 * signed, until the endpoint answers 2xx or the retry schedule runs out. `next_attempt_at` is
 * also the lease of the sender that claimed it: a sender that dies leaves it due again.
 */
export const webhookDeliveries = notificationsSchema.table(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: deliveryStatuses }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    deliveredAt: timestamp("delivered_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    unique("webhook_deliveries_event_uq").on(t.webhookId, t.eventId),
    index("webhook_deliveries_due_idx").on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index("webhook_deliveries_webhook_idx").on(t.webhookId, t.id),
  ],
);
