import { z } from "zod";
import { type EventData, type EventType, eventCatalog, isEventType } from "./catalog.ts";

/**
 * The envelope every event travels in on Kafka: CloudEvents 1.0 (structured JSON mode) with
 * the W3C `traceparent` extension, so a consumer continues the producer's trace. `id` is the
 * outbox row's id: unique per event and the key of every consumer's inbox.
 */
export const cloudEvent = z.object({
  specversion: z.literal("1.0"),
  id: z.string().min(1),
  type: z.string().min(1),
  source: z.string().min(1).describe("/edgebank/<service>"),
  subject: z.string().min(1).describe("the aggregate id (also the Kafka key)"),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal("application/json"),
  dataschema: z.string().describe("/edgebank/events/<type>/v<version>"),
  traceparent: z
    .string()
    .regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
    .optional(),
  data: z.unknown(),
});
export type CloudEvent = z.infer<typeof cloudEvent>;

export interface OutboxEvent {
  id: string;
  aggregateId: string;
  type: string;
  payload: unknown;
  createdAt: Date;
}

/** The envelope of an outbox row; throws if the type is unknown or its data does not fit. */
export function toCloudEvent(row: OutboxEvent, traceparent?: string): CloudEvent {
  if (!isEventType(row.type)) throw new Error(`event type ${row.type} is not in the catalog`);
  const definition = eventCatalog[row.type];
  const data = definition.data.parse(row.payload);
  return {
    specversion: "1.0",
    id: row.id,
    type: row.type,
    source: `/edgebank/${definition.service}`,
    subject: row.aggregateId,
    time: row.createdAt.toISOString(),
    datacontenttype: "application/json",
    dataschema: `/edgebank/events/${row.type}/v${definition.version}`,
    ...(traceparent ? { traceparent } : {}),
    data,
  };
}

/** An event of one of the types T, its `data` typed by the catalog's schema for its type. */
export type TypedEvent<T extends EventType = EventType> = {
  [K in T]: CloudEvent & { type: K; data: EventData<K> };
}[T];

/**
 * Whether an event is of one of `types`; if so its `data` reads as the catalog types it. For
 * events `parseEvent` accepted (every consumer's): their data was checked against that schema.
 */
export function isEventOf<T extends EventType>(event: CloudEvent, ...types: T[]): event is TypedEvent<T> {
  return (types as string[]).includes(event.type);
}

/**
 * The event as one of `types`, for a handler wired to those types only; any other type is a
 * wiring mistake and throws (the consumer retries, then dead-letters it), never a silent skip.
 */
export function expectEvent<T extends EventType>(event: CloudEvent, ...types: T[]): TypedEvent<T> {
  if (!isEventOf(event, ...types)) throw new Error(`expected ${types.join(" or ")}, got ${event.type}`);
  return event;
}

export type ParsedEvent =
  | { ok: true; event: CloudEvent & { type: EventType } }
  | { ok: false; error: string; id?: string };

/** A consumed value as a known event, or why it is not one (a poison message). */
export function parseEvent(value: unknown): ParsedEvent {
  const envelope = cloudEvent.safeParse(value);
  if (!envelope.success) return { ok: false, error: `not a CloudEvent: ${envelope.error.message}` };
  const event = envelope.data;
  if (!isEventType(event.type)) return { ok: false, error: `unknown event type ${event.type}`, id: event.id };
  const data = eventCatalog[event.type].data.safeParse(event.data);
  if (!data.success) return { ok: false, error: `${event.type} data: ${data.error.message}`, id: event.id };
  return { ok: true, event: { ...event, type: event.type, data: data.data } };
}

/** The Kafka topic an event type is published to. */
export function topicOf(type: EventType): string {
  return eventCatalog[type].topic;
}
