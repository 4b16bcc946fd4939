import { type Database, isDatabaseUnavailable, resultRows, type Transaction } from "@edgebank/db";
import { type CloudEvent, type EventType, parseEvent } from "@edgebank/events";
import { newId } from "@edgebank/ids";
import { type ConsumedRecord, type ConsumerInstance, type KafkaRestClient, KafkaRestError } from "@edgebank/kafka";
import { sql } from "drizzle-orm";

/**
 * The consuming side of edgebank's events, shared by every service that consumes: one batch of
 * a consumer group on one topic, over the Kafka REST v2 consumer API.
 *
 * Delivery is at least once (the relay may publish an event twice; an offset commit may be
 * lost), effect is exactly once: each event is applied in one database transaction together
 * with its row in the service's inbox, keyed by the event id (a batch's events in one
 * transaction, a savepoint each, when the consumer has no remote work), and a second delivery
 * finds the row and changes nothing. Offsets are committed only after the transaction committed. Work
 * that calls other services goes in the spec's `prepare`, before that transaction: it must be
 * idempotent on its own (it may run again), and no lock is held while it waits.
 *
 * A failing handler holds back its partition only (later records of the partition wait, in
 * order; other partitions go on): the instance seeks back to the failed record, which is tried
 * again on a later batch, and after `maxAttempts` failures it is dead-lettered (a row in the
 * service's `dead_letters` and a record on the dead-letter topic) and the partition moves on.
 * A value that is not an event of the catalog cannot get better by waiting: dead-lettered at once.
 */

export type KnownEvent = CloudEvent & { type: EventType };

export interface ConsumerSpec {
  /** The consumer group, and the `consumer` of its inbox rows and dead letters. */
  group: string;
  topic: string;
  /** The service's schema, which holds `inbox` and `dead_letters`. */
  schema: string;
  /** The event types this consumer acts on; others are passed over (committed, no inbox row). */
  types: readonly EventType[];
  /** Failed attempts before an event is dead-lettered. */
  maxAttempts: number;
  /**
   * Work that cannot sit inside a database transaction (calls to other services), done before
   * the inbox transaction, each step committed on its own. It may run again for the same
   * event (the transaction after it failed, a redelivery before the inbox row was written), so
   * it must be idempotent: operation ids made from the event's aggregate, conditional updates.
   * Keeping remote calls out of the transaction keeps locks short, and on a database with one
   * session (the embedded PGlite) it is what lets the called service write at all.
   */
  prepare?(db: Database, event: KnownEvent): Promise<void>;
  /** The event's effect, in the transaction that also writes its inbox row. */
  handle?(tx: Transaction, event: KnownEvent): Promise<void>;
}

/** What a consumer remembers between batches (its Durable Object persists it). */
export interface ConsumerMemory {
  instance?: ConsumerInstance | undefined;
  /** Failed attempts of the record a partition is held at: `"<partition>@<offset>"` → count. */
  attempts: Record<string, number>;
  /** Per partition, the next offset to handle: what lag is measured from. */
  positions: Record<string, number>;
}

export interface BatchOutcome {
  fetched: number;
  /** Applied now (a new inbox row). */
  handled: number;
  /** Delivered again, already in the inbox: nothing changed. */
  duplicates: number;
  /** Of a type this consumer does not act on. */
  passed: number;
  deadLettered: number;
  /**
   * Records held to try again: after a failed attempt (counted toward `maxAttempts`), or because
   * what handling needs was unavailable (`unavailable`: not counted).
   */
  retrying: Array<{ partition: number; offset: number; attempts: number; error: string; unavailable?: boolean }>;
  /** The events applied now, for work after the commit (deliveries). */
  applied: KnownEvent[];
  /** Age of the newest event handled, in seconds (commit-to-consume latency). */
  newestAgeSeconds?: number;
}

export const deadLetterTopic = (spec: Pick<ConsumerSpec, "group" | "topic">) => `${spec.topic}.${spec.group}.dlq`;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Applies one event once: its preparation (if any), then its inbox row and its effect in one
 * transaction. False when the event was already applied (the row exists), in which case
 * nothing else ran.
 */
export async function applyEvent(
  db: Database,
  spec: Pick<ConsumerSpec, "group" | "schema" | "prepare" | "handle">,
  event: KnownEvent,
): Promise<boolean> {
  if (spec.prepare) {
    const seen = resultRows(
      await db.execute(sql`
        select 1 from ${sql.identifier(spec.schema)}.inbox
         where consumer = ${spec.group} and event_id = ${event.id}`),
    );
    if (seen.length > 0) return false;
    await spec.prepare(db, event);
  }
  return db.transaction((tx) => applyEventIn(tx, spec, event));
}

/** An event's inbox row and effect inside `tx` (false when it was applied before). */
async function applyEventIn(
  tx: Transaction,
  spec: Pick<ConsumerSpec, "group" | "schema" | "handle">,
  event: KnownEvent,
): Promise<boolean> {
  const inserted = resultRows<{ event_id: string }>(
    await tx.execute(sql`
      insert into ${sql.identifier(spec.schema)}.inbox (consumer, event_id, type)
      values (${spec.group}, ${event.id}, ${event.type})
      on conflict do nothing
      returning event_id`),
  );
  if (inserted.length === 0) return false;
  await spec.handle?.(tx, event);
  return true;
}

/** How an event of a batch went in the batch's transaction: applied (or a duplicate), or what it threw. */
type Decided = { applied: boolean } | { error: unknown };

/**
 * A consumer without `prepare` applies a whole batch in one transaction (one commit for many
 * events), each event in a savepoint of its own: one that throws rolls back alone, and holds
 * back the rest of its partition in this transaction (they are applied, or not, one by one
 * afterwards, as the partition's fate is decided). What the transaction decided is answered
 * per record; a record it did not reach is undefined.
 */
async function applyBatchIn(
  db: Database,
  spec: ConsumerSpec,
  records: ConsumedRecord[],
  trace: <T>(event: KnownEvent, work: () => Promise<T>) => Promise<T>,
): Promise<Map<ConsumedRecord, Decided>> {
  const decided = new Map<ConsumedRecord, Decided>();
  await db.transaction(async (tx) => {
    const stopped = new Set<number>();
    for (const record of records) {
      if (stopped.has(record.partition)) continue;
      const parsed = parseEvent(record.value);
      if (!parsed.ok || !spec.types.includes(parsed.event.type)) continue;
      const event = parsed.event;
      try {
        const applied = await trace(event, () => tx.transaction((savepoint) => applyEventIn(savepoint, spec, event)));
        decided.set(record, { applied });
      } catch (error) {
        decided.set(record, { error });
        stopped.add(record.partition);
      }
    }
  });
  return decided;
}

/** Keeps a record the consumer could not apply: a row to list and redrive, and a dead-letter record. */
async function deadLetter(
  db: Database,
  client: KafkaRestClient,
  spec: ConsumerSpec,
  record: ConsumedRecord,
  details: { eventId?: string | undefined; type?: string | undefined; error: string; attempts: number },
): Promise<void> {
  const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));
  await db.execute(sql`
    insert into ${sql.identifier(spec.schema)}.dead_letters
      (id, consumer, topic, partition, "offset", event_id, type, key, value, error, attempts)
    values (${newId("deadLetter")}, ${spec.group}, ${record.topic}, ${record.partition}, ${record.offset},
            ${details.eventId ?? null}, ${details.type ?? null}, ${json(record.key)}::jsonb,
            ${json(record.value)}::jsonb, ${details.error}, ${details.attempts})
    on conflict (consumer, topic, partition, "offset") do nothing`);
  await client.produce({
    topic: deadLetterTopic(spec),
    key: typeof record.key === "string" ? record.key : (details.eventId ?? `${record.partition}@${record.offset}`),
    value: {
      consumer: spec.group,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      error: details.error,
      attempts: details.attempts,
      value: record.value ?? null,
    },
  });
}

/** A consumer instance of the group, subscribed to the topic (reading from the committed offsets). */
async function joinGroup(client: KafkaRestClient, spec: ConsumerSpec): Promise<ConsumerInstance> {
  const instance = await client.createConsumer(spec.group, { reset: "earliest" });
  await client.subscribe(instance, [spec.topic]);
  return instance;
}

/**
 * Whether a handler failed because what it needs is unavailable (the database unreachable or
 * its connection dropped, a service answering 503 or not in time) rather than because of the
 * event. Such a failure is no sign of a poison event: it must not bring one closer to the dead
 * letters, or an outage would dead-letter every event it met.
 */
export function isUnavailable(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return true;
  for (let current = error, depth = 0; current !== null && typeof current === "object" && depth < 5; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (code === "dependency_unavailable" || code === "dependency_timeout") return true;
    current = cause;
  }
  return false;
}

/** Drops the instance (best effort): the next batch joins again and resumes at the committed offsets. */
export async function leaveGroup(client: KafkaRestClient, memory: ConsumerMemory): Promise<void> {
  const instance = memory.instance;
  memory.instance = undefined;
  if (instance) await client.deleteConsumer(instance).catch(() => undefined);
}

/**
 * One batch: fetch (long poll up to `pollMs`), apply, dead-letter, commit, seek back what
 * failed. The database is opened only when records arrived. Throws when the broker or the
 * database failed (the caller backs off); `memory` is updated either way.
 */
export async function consumeBatch(options: {
  client: KafkaRestClient;
  spec: ConsumerSpec;
  memory: ConsumerMemory;
  withDb: <T>(work: (db: Database) => Promise<T>) => Promise<T>;
  pollMs: number;
  /** Runs the handling of one event (its trace: the consumer's span continues the event's traceparent). */
  traceEvent?: <T>(event: KnownEvent, work: () => Promise<T>) => Promise<T>;
}): Promise<BatchOutcome> {
  const { client, spec, memory } = options;
  const outcome: BatchOutcome = {
    fetched: 0,
    handled: 0,
    duplicates: 0,
    passed: 0,
    deadLettered: 0,
    retrying: [],
    applied: [],
  };
  memory.instance ??= await joinGroup(client, spec);
  const instance = memory.instance;
  let records: ConsumedRecord[];
  try {
    records = await client.fetchRecords(instance, { timeoutMs: options.pollMs });
  } catch (error) {
    // The proxy forgot the instance (restart, idle timeout), or the proxy the instance lives on
    // cannot be reached at all (an instance's URI names one proxy node, which may be gone for
    // good: replaced, moved, a development broker started again on another port): join again
    // on the next batch, through the configured endpoint, from the committed offsets.
    if (error instanceof KafkaRestError && (error.instanceGone || error.status === 0)) {
      memory.instance = undefined;
      if (error.status === 0) throw error;
      return outcome;
    }
    throw error;
  }
  outcome.fetched = records.length;
  if (records.length === 0) return outcome;
  records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);

  /** Per partition: the last offset done with (applied, passed or dead-lettered). */
  const done = new Map<number, number>();
  /** Per partition held back: the offset to read again. */
  const held = new Map<number, number>();
  let newest: number | undefined;

  const trace = <T>(event: KnownEvent, work: () => Promise<T>) =>
    options.traceEvent ? options.traceEvent(event, work) : work();
  // The database may fail under the batch (a crash, a cut connection, a pooler restart) and end
  // it with nothing applied or committed, while the broker has moved this instance past what it
  // fetched: a new instance resumes at the committed offsets instead.
  const withDb = <T>(work: (db: Database) => Promise<T>) =>
    options.withDb(work).catch(async (error: unknown) => {
      await leaveGroup(client, memory);
      throw error;
    });
  await withDb(async (db) => {
    // Without remote work, the batch's effects commit together (see applyBatchIn).
    const decided = spec.prepare ? new Map<ConsumedRecord, Decided>() : await applyBatchIn(db, spec, records, trace);
    for (const record of records) {
      if (held.has(record.partition)) continue;
      const attemptKey = `${record.partition}@${record.offset}`;
      const parsed = parseEvent(record.value);
      try {
        if (!parsed.ok) {
          await deadLetter(db, client, spec, record, { eventId: parsed.id, error: parsed.error, attempts: 1 });
          outcome.deadLettered += 1;
        } else if (!spec.types.includes(parsed.event.type)) {
          outcome.passed += 1;
        } else {
          try {
            const event = parsed.event;
            const inBatch = decided.get(record);
            if (inBatch && "error" in inBatch) throw inBatch.error;
            const applied = inBatch ? inBatch.applied : await trace(event, () => applyEvent(db, spec, event));
            if (applied) {
              outcome.handled += 1;
              outcome.applied.push(parsed.event);
            } else {
              outcome.duplicates += 1;
            }
            newest = Math.max(newest ?? 0, Date.parse(parsed.event.time));
          } catch (error) {
            if (isUnavailable(error)) {
              // Not the event's fault: what handling it needs is down (the database, a service).
              // Held without counting an attempt, so an outage never dead-letters what it met.
              outcome.retrying.push({
                partition: record.partition,
                offset: record.offset,
                attempts: memory.attempts[attemptKey] ?? 0,
                error: message(error),
                unavailable: true,
              });
              held.set(record.partition, record.offset);
              continue;
            }
            const attempts = (memory.attempts[attemptKey] ?? 0) + 1;
            if (attempts < spec.maxAttempts) {
              memory.attempts[attemptKey] = attempts;
              outcome.retrying.push({
                partition: record.partition,
                offset: record.offset,
                attempts,
                error: message(error),
              });
              held.set(record.partition, record.offset);
              continue;
            }
            await deadLetter(db, client, spec, record, {
              eventId: parsed.event.id,
              type: parsed.event.type,
              error: message(error),
              attempts,
            });
            outcome.deadLettered += 1;
          }
        }
      } catch (error) {
        // Dead-lettering itself failed (database, broker): hold the partition, try again later.
        outcome.retrying.push({
          partition: record.partition,
          offset: record.offset,
          attempts: memory.attempts[attemptKey] ?? 0,
          error: `dead-lettering failed: ${message(error)}`,
        });
        held.set(record.partition, record.offset);
        continue;
      }
      delete memory.attempts[attemptKey];
      done.set(record.partition, record.offset);
    }
  });

  if (newest !== undefined) outcome.newestAgeSeconds = Math.max(0, (Date.now() - newest) / 1000);
  const commits = [...done].map(([partition, offset]) => ({ topic: spec.topic, partition, offset }));
  try {
    await client.commit(instance, commits);
  } catch (error) {
    // Not committed: what was applied comes again and finds its inbox row. Start over from
    // the committed offsets with a new instance.
    await leaveGroup(client, memory);
    throw error;
  }
  for (const { partition, offset } of commits) memory.positions[partition] = offset + 1;
  if (held.size > 0) {
    try {
      await client.seek(
        instance,
        [...held].map(([partition, offset]) => ({ topic: spec.topic, partition, offset })),
      );
    } catch (error) {
      // Without the seek this instance would read past the held records: a new instance
      // resumes at the committed offsets instead.
      await leaveGroup(client, memory);
      throw error;
    }
    for (const [partition, offset] of held) memory.positions[partition] = offset;
  }
  return outcome;
}

/** Records waiting for this consumer in the partitions it has read (end offset − next offset). */
export async function consumerLag(client: KafkaRestClient, spec: ConsumerSpec, memory: ConsumerMemory) {
  let records = 0;
  for (const [partition, next] of Object.entries(memory.positions)) {
    const { end } = await client.partitionOffsets(spec.topic, Number(partition));
    records += Math.max(0, end - next);
  }
  return records;
}

/**
 * Applies a dead-lettered event again (after the handler was fixed), once: the inbox holds
 * whether it was applied meanwhile. Throws the handler's error when it still fails.
 */
export async function redriveDeadLetter(
  db: Database,
  spec: Pick<ConsumerSpec, "group" | "schema" | "prepare" | "handle" | "types">,
  id: string,
  actor: string,
): Promise<{ status: "applied" | "already_applied" | "not_found" | "already_redriven" | "not_applicable" }> {
  const schema = sql.identifier(spec.schema);
  const [row] = resultRows<{ value: unknown; redriven_at: string | null }>(
    await db.execute(sql`
      select value, redriven_at from ${schema}.dead_letters where id = ${id} and consumer = ${spec.group}`),
  );
  if (!row) return { status: "not_found" };
  if (row.redriven_at) return { status: "already_redriven" };
  const parsed = parseEvent(row.value);
  // Still not an event of the catalog, or not one this consumer acts on: nothing to apply.
  if (!parsed.ok || !spec.types.includes(parsed.event.type)) return { status: "not_applicable" };
  const applied = await applyEvent(db, spec, parsed.event);
  await db.execute(sql`
    update ${schema}.dead_letters set redriven_at = now(), redriven_by = ${actor}
     where id = ${id} and redriven_at is null`);
  return { status: applied ? "applied" : "already_applied" };
}
