import { sql } from "drizzle-orm";
import { bigint, index, integer, jsonb, type PgSchema, primaryKey, text, timestamp, unique } from "drizzle-orm/pg-core";

/**
 * The inbox of a consuming service, in its own schema: one row per event a consumer group
 * applied, written in the same transaction as the event's effect. A redelivered event (the
 * relay published it twice, a commit of offsets was lost) finds its row and changes nothing.
 * (A subpath of its own: drizzle-kit loads service schemas in Node, without Workers modules.)
 */
export function inboxTable(schema: PgSchema) {
  return schema.table(
    "inbox",
    {
      consumer: text("consumer").notNull(),
      eventId: text("event_id").notNull(),
      type: text("type").notNull(),
      handledAt: timestamp("handled_at", { withTimezone: true }).notNull().defaultNow(),
    },
    (t) => [primaryKey({ name: "inbox_pk", columns: [t.consumer, t.eventId] })],
  );
}

/**
 * Records a consumer could not apply: a value that is not an event of the catalog (at once), or
 * an event whose handler failed `maxAttempts` times. Each is also published to the consumer's
 * dead-letter topic; this table is what operators list and redrive (once: the inbox still holds).
 */
export function deadLetterTable(schema: PgSchema) {
  return schema.table(
    "dead_letters",
    {
      id: text("id").primaryKey(),
      consumer: text("consumer").notNull(),
      topic: text("topic").notNull(),
      partition: integer("partition").notNull(),
      offset: bigint("offset", { mode: "number" }).notNull(),
      eventId: text("event_id"),
      type: text("type"),
      key: jsonb("key"),
      value: jsonb("value"),
      error: text("error").notNull(),
      attempts: integer("attempts").notNull(),
      deadAt: timestamp("dead_at", { withTimezone: true }).notNull().defaultNow(),
      redrivenAt: timestamp("redriven_at", { withTimezone: true }),
      redrivenBy: text("redriven_by"),
    },
    (t) => [
      unique("dead_letters_record_uq").on(t.consumer, t.topic, t.partition, t.offset),
      index("dead_letters_waiting_idx").on(t.deadAt).where(sql`${t.redrivenAt} is null`),
    ],
  );
}
