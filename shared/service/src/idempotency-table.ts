import { integer, jsonb, type PgSchema, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/**
 * The durable side of Idempotency-Key for a service, in its own schema: one record per
 * (caller, key) with the request's fingerprint, the resource the first request created, and
 * the response every repeat gets once it is final. (A subpath of its own: drizzle-kit loads
 * service schemas in Node, without Workers modules.)
 */
export function idempotencyTable(schema: PgSchema) {
  return schema.table(
    "idempotency_records",
    {
      principal: text("principal").notNull(),
      key: text("key").notNull(),
      fingerprint: text("fingerprint").notNull(),
      resourceId: text("resource_id").notNull(),
      responseStatus: integer("response_status"),
      responseBody: jsonb("response_body").$type<Record<string, unknown>>(),
      createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    },
    (t) => [primaryKey({ name: "idempotency_records_pk", columns: [t.principal, t.key] })],
  );
}

export type IdempotencyTable = ReturnType<typeof idempotencyTable>;
