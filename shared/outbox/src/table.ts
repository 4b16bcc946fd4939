import { sql } from "drizzle-orm";
import { index, jsonb, type PgSchema, text, timestamp } from "drizzle-orm/pg-core";

/**
 * The transactional outbox of a service, in its own schema: an event is written in the same
 * transaction as the change it reports, and the relay publishes it to Kafka afterwards. `id` is
 * a UUIDv7 made at write time, so ordering by id is commit order within an aggregate (each
 * aggregate has one writer). `published_at` is set only after the broker acknowledged.
 * (A subpath of its own: drizzle-kit loads service schemas in Node, without Workers modules.)
 */
export function outboxTable(schema: PgSchema) {
  return schema.table(
    "outbox",
    {
      id: text("id").primaryKey(),
      aggregateId: text("aggregate_id").notNull(),
      type: text("type").notNull(),
      payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
      createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
      publishedAt: timestamp("published_at", { withTimezone: true }),
      /** The W3C traceparent of the request that caused the event, carried to consumers. */
      traceparent: text("traceparent"),
    },
    (t) => [index("outbox_pending_idx").on(t.createdAt).where(sql`${t.publishedAt} is null`)],
  );
}
