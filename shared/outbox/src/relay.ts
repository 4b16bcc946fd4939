import { type Database, resultRows } from "@edgebank/db";
import { type CloudEvent, isEventType, type OutboxEvent, toCloudEvent, topicOf } from "@edgebank/events";
import type { KafkaRestClient } from "@edgebank/kafka";
import { sql } from "drizzle-orm";

/**
 * The outbox relay, shared by every service with an outbox. One pass, in one transaction (one
 * commit, the backlog it leaves measured inside it):
 * claim the oldest pending rows (`FOR UPDATE SKIP LOCKED`, and a transaction-scoped advisory
 * lock per aggregate, so two relays never split one aggregate's events and publish them out of
 * order), publish each aggregate's in id order (commit order; Kafka key = aggregate id), many
 * aggregates per request, mark the acknowledged ones sent, and commit. A crash before the
 * commit leaves the rows pending: they are published again and consumers apply them once (the
 * event id is their inbox key). When the broker fails, the pass stops (the rest waits for the
 * next pass: the cron sweeper, or the next commit's immediate relay); an aggregate whose event
 * failed publishes nothing after it in that pass.
 */

/** Where an event goes: Kafka, or a test's recorder. Resolves once the broker acknowledged. */
export interface Publisher {
  publish(topic: string, key: string, event: CloudEvent): Promise<void>;
  /**
   * Several events of one topic in one request, in order; each answered on its own (undefined:
   * acknowledged). Throws when the whole request failed. Without it, events go one by one.
   */
  publishBatch?(topic: string, events: Array<{ key: string; event: CloudEvent }>): Promise<Array<Error | undefined>>;
}

const recordOf = (key: string, event: CloudEvent) => ({
  key,
  value: event,
  headers: { "event-id": event.id, ...(event.traceparent ? { traceparent: event.traceparent } : {}) },
});

/** Kafka over REST: the envelope as the value, the aggregate id as key, traceparent and event id as headers. */
export function kafkaPublisher(client: KafkaRestClient): Publisher {
  return {
    async publish(topic, key, event) {
      await client.produce({ topic, ...recordOf(key, event) });
    },
    async publishBatch(topic, events) {
      const deliveries = await client.produceBatch(
        topic,
        events.map(({ key, event }) => recordOf(key, event)),
      );
      return deliveries.map((delivery) => (delivery instanceof Error ? delivery : undefined));
    },
  };
}

export interface RelayResult {
  /** Rows this pass claimed (fewer than the batch size: nothing more was waiting for it). */
  claimed: number;
  published: number;
  /** Rows left pending because publishing failed (or an earlier event of their aggregate did). */
  deferred: number;
  /** Whether the broker failed during this pass (the caller backs off). */
  brokerFailed: boolean;
  /** Events still pending after the pass (others' in-flight rows included), and the oldest one's age. */
  pending: number;
  oldestAgeSeconds: number;
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
    const result: RelayResult = {
      claimed: rows.length,
      published: 0,
      deferred: 0,
      brokerFailed: false,
      pending: 0,
      oldestAgeSeconds: 0,
    };
    const byAggregate = new Map<string, PendingRow[]>();
    for (const row of rows) byAggregate.set(row.aggregate_id, [...(byAggregate.get(row.aggregate_id) ?? []), row]);
    const published: string[] = [];
    const stopped = new Set<string>();
    const fail = (row: PendingRow, event: OutboxEvent, error: unknown) => {
      options.onError?.(event, error);
      // A broker error ends the pass; a bad row only holds back its own aggregate.
      if ((error as { retryable?: unknown }).retryable === true) result.brokerFailed = true;
      stopped.add(row.aggregate_id);
    };
    // In rounds: round r holds the r-th pending event of every aggregate still going, so one
    // request per topic carries many aggregates, and an aggregate's next event leaves only after
    // the broker acknowledged the one before.
    const aggregates = [...byAggregate.values()];
    for (let round = 0; !result.brokerFailed; round++) {
      const due = aggregates
        .map((events) => events[round])
        .filter((row): row is PendingRow => row !== undefined && !stopped.has(row.aggregate_id));
      if (due.length === 0) break;
      const byTopic = new Map<string, Array<{ row: PendingRow; event: OutboxEvent; envelope: CloudEvent }>>();
      for (const row of due) {
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
          const topic = topicOf(event.type);
          byTopic.set(topic, [...(byTopic.get(topic) ?? []), { row, event, envelope }]);
        } catch (error) {
          fail(row, event, error);
        }
      }
      await Promise.all(
        [...byTopic].map(async ([topic, items]) => {
          let outcomes: Array<unknown>;
          try {
            outcomes = options.publisher.publishBatch
              ? await options.publisher.publishBatch(
                  topic,
                  items.map(({ row, envelope }) => ({ key: row.aggregate_id, event: envelope })),
                )
              : await Promise.all(
                  items.map(({ row, envelope }) =>
                    options.publisher.publish(topic, row.aggregate_id, envelope).then(
                      () => undefined,
                      (error: unknown) => error ?? new Error("publish failed"),
                    ),
                  ),
                );
          } catch (error) {
            outcomes = items.map(() => error);
          }
          items.forEach(({ row, event }, index) => {
            const outcome = outcomes[index];
            if (outcome === undefined) published.push(row.id);
            else fail(row, event, outcome);
          });
        }),
      );
    }
    result.deferred = rows.length - published.length;
    if (published.length > 0) {
      await tx.execute(sql`update ${outbox}.outbox set published_at = now() where id in ${published}`);
    }
    result.published = published.length;
    // What is left, measured in the pass's own transaction: one commit per pass, metrics included.
    Object.assign(result, await outboxBacklog(tx, options.schema));
    return result;
  });
}

/** Pending events and the age of the oldest, for metrics and readiness details. */
export async function outboxBacklog(
  db: Pick<Database, "execute">,
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
