import { type Database, resultRows } from "@edgebank/db";
import { type CloudEvent, isEventType, type OutboxEvent, toCloudEvent, topicOf } from "@edgebank/events";
import type { KafkaRestClient } from "@edgebank/kafka";
import { sql } from "drizzle-orm";

/**
 * The outbox relay, shared by every service with an outbox. One pass, in one transaction:
 * claim the oldest pending rows (`FOR UPDATE SKIP LOCKED`, and a transaction-scoped advisory
 * lock per aggregate, so two relays never split one aggregate's events and publish them out of
 * order), publish each aggregate's in id order (commit order; Kafka key = aggregate id), several
 * aggregates at once, mark the acknowledged ones sent, and commit. A crash before the
 * commit leaves the rows pending: they are published again and consumers apply them once (the
 * event id is their inbox key). When the broker fails, the pass stops (the rest waits for the
 * next pass: the cron sweeper, or the next commit's immediate relay); an aggregate whose event
 * failed publishes nothing after it in that pass.
 */

/** Where an event goes: Kafka, or a test's recorder. Resolves once the broker acknowledged. */
export interface Publisher {
  publish(topic: string, key: string, event: CloudEvent): Promise<void>;
}

/** Kafka over REST: the envelope as the value, the aggregate id as key, traceparent and event id as headers. */
export function kafkaPublisher(client: KafkaRestClient): Publisher {
  return {
    async publish(topic, key, event) {
      await client.produce({
        topic,
        key,
        value: event,
        headers: { "event-id": event.id, ...(event.traceparent ? { traceparent: event.traceparent } : {}) },
      });
    },
  };
}

export interface RelayResult {
  published: number;
  /** Rows left pending because publishing failed (or an earlier event of their aggregate did). */
  deferred: number;
  /** Whether the broker failed during this pass (the caller backs off). */
  brokerFailed: boolean;
}

interface PendingRow {
  traceparent: string | null;
  id: string;
  aggregate_id: string;
  type: string;
  payload: Record<string, unknown>;
  created_at: string | Date;
}

export async function relayOutbox(
  db: Database,
  options: {
    schema: string;
    publisher: Publisher;
    batchSize?: number;
    /** Aggregates published at once (each one's events stay in order). */
    concurrency?: number;
    onError?: (row: OutboxEvent, error: unknown) => void;
  },
): Promise<RelayResult> {
  const outbox = sql.identifier(options.schema);
  return db.transaction(async (tx) => {
    // A relay that dies mid-pass must not keep its aggregates locked for long.
    await tx.execute(sql`set local idle_in_transaction_session_timeout = '15s'`);
    const rows = resultRows<PendingRow>(
      await tx.execute(sql`
        select id, aggregate_id, type, payload, created_at, traceparent from ${outbox}.outbox
         where published_at is null
           and pg_try_advisory_xact_lock(hashtextextended(${`${options.schema}.outbox:`} || aggregate_id, 0))
         order by id
         limit ${options.batchSize ?? 100}
         for update skip locked`),
    );
    const result: RelayResult = { published: 0, deferred: 0, brokerFailed: false };
    // Aggregates are independent: each one's events go out in order, several aggregates at once.
    const byAggregate = new Map<string, PendingRow[]>();
    for (const row of rows) byAggregate.set(row.aggregate_id, [...(byAggregate.get(row.aggregate_id) ?? []), row]);
    const published: string[] = [];
    const publishAggregate = async (events: PendingRow[]) => {
      for (const [index, row] of events.entries()) {
        if (result.brokerFailed) {
          result.deferred += events.length - index;
          return;
        }
        const event: OutboxEvent = {
          id: row.id,
          aggregateId: row.aggregate_id,
          type: row.type,
          payload: row.payload,
          createdAt: new Date(row.created_at),
        };
        try {
          if (!isEventType(event.type)) throw new Error(`event type ${event.type} is not in the catalog`);
          const envelope = toCloudEvent(event, row.traceparent ?? undefined);
          await options.publisher.publish(topicOf(event.type), event.aggregateId, envelope);
        } catch (error) {
          options.onError?.(event, error);
          // A broker error ends the pass; a bad row only holds back its own aggregate.
          if ((error as { retryable?: unknown }).retryable === true) result.brokerFailed = true;
          result.deferred += events.length - index;
          return;
        }
        published.push(row.id);
      }
    };
    const queue = [...byAggregate.values()];
    const lanes = Array.from({ length: Math.min(options.concurrency ?? 8, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await publishAggregate(next);
    });
    await Promise.all(lanes);
    if (published.length > 0) {
      await tx.execute(sql`update ${outbox}.outbox set published_at = now() where id in ${published}`);
    }
    result.published = published.length;
    return result;
  });
}

/** Pending events and the age of the oldest, for metrics and readiness details. */
export async function outboxBacklog(
  db: Database,
  schema: string,
): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const [row] = resultRows<{ pending: number; age: number | null }>(
    await db.execute(sql`
      select count(*)::int as pending,
             extract(epoch from now() - min(created_at))::float8 as age
        from ${sql.identifier(schema)}.outbox where published_at is null`),
  );
  return { pending: row?.pending ?? 0, oldestAgeSeconds: row?.age ?? 0 };
}
