import { DurableObject } from "cloudflare:workers";
import { bindingWith, defineConfig } from "@edgebank/config";
import { type DatabaseSettings, withDatabase } from "@edgebank/db";
import { createLogger, describeError, type Logger, type LogLevel, recordMetric, traceWork } from "@edgebank/http";
import { kafkaClient } from "@edgebank/kafka";
import { z } from "zod";
import {
  type BatchOutcome,
  type ConsumerMemory,
  type ConsumerSpec,
  consumeBatch,
  consumerLag,
  type KnownEvent,
  leaveGroup,
} from "./consume.ts";

/**
 * A consuming service's settings: failed attempts before an event is dead-lettered, the long
 * poll of one fetch, and the namespace of its consumer objects (bound as EVENT_CONSUMER).
 */
export const consumerConfig = defineConfig(
  z.object({
    CONSUMER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
    CONSUMER_POLL_MS: z.coerce.number().int().min(0).max(5_000).default(1_000),
    EVENT_CONSUMER: bindingWith("idFromName", "get").transform(
      (ns) => ns as unknown as DurableObjectNamespace<EventConsumerDO>,
    ),
  }),
);

/** What a service tells its consumer objects: who it is, its database, and its consumers. */
export interface ConsumerHost {
  service: string;
  version: string;
  logLevel: LogLevel;
  settings: DatabaseSettings;
  consumers: readonly ConsumerSpec[];
  /** How long one fetch waits for records (the long poll), in ms. */
  pollMs: number;
  /** Work after a batch committed (deliveries of what it applied); must not throw. */
  afterBatch?(events: KnownEvent[]): Promise<void>;
}

export interface ConsumerStatus {
  name: string | null;
  running: boolean;
  instance: string | null;
  attempts: Record<string, number>;
  positions: Record<string, number>;
  lastBatch: (Omit<BatchOutcome, "applied"> & { at: string }) | null;
  consecutiveFailures: number;
  /** Records on the topic not read yet, as last measured (every 15 s while it runs). */
  lag: { records: number; at: string } | null;
}

/** The name of the consumer object of a group on a topic (one object each). */
export const consumerName = (spec: Pick<ConsumerSpec, "group" | "topic">) => `${spec.group}/${spec.topic}`;

const LAG_EVERY_MS = 15_000;
const MAX_BACKOFF_MS = 30_000;

/**
 * A consumer group's reader of one topic, as a Durable Object (one per group and topic, so
 * one reader and one order per partition): its alarm fetches a batch (long poll), applies it
 * through the service's handler, commits, and sets the next alarm: at once while records
 * flow, after a backoff while the broker, the database or a handler fails. Started (and kept
 * started) by `start(name)` from the service's cron and first requests; its memory (consumer
 * instance, attempts per held record, positions) is in its storage, so an evicted object
 * resumes where it was. Consumer lag is measured every 15 s as metrics.
 */
export abstract class EventConsumerDO<E extends object = object> extends DurableObject<E> {
  /** The service's consumers and settings, from its env. */
  protected abstract host(): ConsumerHost;

  #lagAt = 0;
  #log: Logger | undefined;

  #logger(host: ConsumerHost): Logger {
    this.#log ??= createLogger({ service: host.service, version: host.version }, host.logLevel);
    return this.#log;
  }

  /**
   * Starts (or keeps running) the consumer named `group/topic`; one an operator stopped stays
   * stopped unless `resume` (the operator's start).
   */
  async start(name: string, options: { resume?: boolean } = {}): Promise<void> {
    if (!this.host().consumers.some((spec) => consumerName(spec) === name)) {
      throw new Error(`no consumer ${name} in this service`);
    }
    const stored = await this.ctx.storage.get<string>("name");
    if (stored !== name) await this.ctx.storage.put("name", name);
    // The cron and requests keep consumers running, but not one an operator stopped.
    if (await this.ctx.storage.get<boolean>("stopped")) {
      if (!options.resume) return;
      await this.ctx.storage.delete("stopped");
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  /**
   * Stops polling and leaves the group (its partitions pass to the group's other instances at
   * once); `start` resumes from the committed offsets.
   */
  async stop(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.put("stopped", true);
    const memory = await this.#memory();
    if (memory.instance) {
      await kafkaClient(this.env)
        .deleteConsumer(memory.instance)
        .catch(() => undefined);
      await this.ctx.storage.put("memory", { ...memory, instance: undefined });
    }
  }

  async status(): Promise<ConsumerStatus> {
    const memory = await this.#memory();
    const name = (await this.ctx.storage.get<string>("name")) ?? null;
    return {
      name,
      // Started and not stopped by an operator (its alarm is briefly unset while a batch runs).
      running: name !== null && !(await this.ctx.storage.get<boolean>("stopped")),
      instance: memory.instance?.id ?? null,
      attempts: memory.attempts,
      positions: memory.positions,
      lastBatch: (await this.ctx.storage.get<ConsumerStatus["lastBatch"]>("lastBatch")) ?? null,
      consecutiveFailures: (await this.ctx.storage.get<number>("failures")) ?? 0,
      lag: (await this.ctx.storage.get<ConsumerStatus["lag"]>("lag")) ?? null,
    };
  }

  async #memory(): Promise<ConsumerMemory> {
    return (await this.ctx.storage.get<ConsumerMemory>("memory")) ?? { attempts: {}, positions: {} };
  }

  /** The consumer instance this object joined in its present life (see `alarm`). */
  #joined: string | undefined;

  override async alarm(): Promise<void> {
    const name = await this.ctx.storage.get<string>("name");
    const host = this.host();
    const spec = host.consumers.find((candidate) => consumerName(candidate) === name);
    if (!spec) return;
    const log = this.#logger(host);
    const context = { service: host.service, version: host.version };
    const labels = { group: spec.group, topic: spec.topic };
    const memory = await this.#memory();
    const client = kafkaClient(this.env);
    // An instance in storage that this object did not join in its present life may have fetched
    // records that life never handled (workerd restarted, or the object was evicted, mid-batch)
    // while the broker moved it past them: reading on with it would skip them for good. Join
    // again at the committed offsets instead (found by the chaos run: notifications lost
    // whenever workerd restarted under a batch).
    if (memory.instance && memory.instance.id !== this.#joined) await leaveGroup(client, memory);
    let next = 0;
    try {
      const outcome = await consumeBatch({
        client,
        spec,
        memory,
        pollMs: host.pollMs,
        withDb: (work) => withDatabase(host.settings, work),
        traceEvent: (event, work) =>
          traceWork(
            host.service,
            this.env,
            {
              name: `consume ${event.type}`,
              kind: "consumer",
              parent: event.traceparent,
              attributes: {
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": spec.topic,
                "messaging.consumer.group.name": spec.group,
                "messaging.message.id": event.id,
              },
              waitUntil: (promise) => this.ctx.waitUntil(promise),
            },
            work,
          ),
      });
      // An event held because the database or a service was unavailable: back off as after a
      // failed batch (those attempts are not counted toward the dead letters).
      const unavailable = outcome.retrying.some((retry) => retry.unavailable);
      const failures = unavailable ? ((await this.ctx.storage.get<number>("failures")) ?? 0) + 1 : 0;
      await this.ctx.storage.put("failures", failures);
      if (outcome.fetched > 0) {
        const { applied, ...summary } = outcome;
        await this.ctx.storage.put("lastBatch", { ...summary, at: new Date().toISOString() });
        recordMetric(this.env, log, context, "consumer_handled", outcome.handled, labels);
        if (outcome.newestAgeSeconds !== undefined) {
          recordMetric(this.env, log, context, "consumer_lag_seconds", outcome.newestAgeSeconds, labels);
        }
        for (const retry of outcome.retrying) {
          log.warn("event not applied; will try again", { ...labels, ...retry });
        }
        if (outcome.deadLettered > 0) {
          log.error("events dead-lettered", { ...labels, count: outcome.deadLettered });
          recordMetric(this.env, log, context, "consumer_dead_lettered", outcome.deadLettered, labels);
        }
        if (applied.length > 0 && host.afterBatch) this.ctx.waitUntil(host.afterBatch(applied));
      }
      // A held record is tried again after a pause that grows with its attempts.
      const attempts = Math.max(0, ...outcome.retrying.map((retry) => retry.attempts));
      if (attempts > 0) next = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempts);
      if (unavailable) next = Math.max(next, Math.random() * Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures));
    } catch (error) {
      const failures = ((await this.ctx.storage.get<number>("failures")) ?? 0) + 1;
      await this.ctx.storage.put("failures", failures);
      log.warn("consumer batch failed", { ...labels, failures, ...describeError(error) });
      // Full jitter: consumers of a broker that comes back do not return all at once.
      next = Math.random() * Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures);
    }
    if (Date.now() - this.#lagAt > LAG_EVERY_MS && memory.instance) {
      this.#lagAt = Date.now();
      try {
        const records = await consumerLag(client, spec, memory);
        await this.ctx.storage.put("lag", { records, at: new Date().toISOString() });
        recordMetric(this.env, log, context, "consumer_lag", records, labels);
      } catch (error) {
        log.warn("consumer lag not measured", { ...labels, ...describeError(error) });
      }
    }
    this.#joined = memory.instance?.id;
    await this.ctx.storage.put("memory", memory);
    if (await this.ctx.storage.get<boolean>("stopped")) return;
    await this.ctx.storage.setAlarm(Date.now() + next);
  }
}

/** Starts (or keeps running) the consumer object of every spec: from a cron, and from requests. */
export async function startConsumerObjects(
  namespace: DurableObjectNamespace<EventConsumerDO>,
  specs: readonly ConsumerSpec[],
  options: { resume?: boolean } = {},
): Promise<void> {
  await Promise.all(
    specs.map((spec) => namespace.get(namespace.idFromName(consumerName(spec))).start(consumerName(spec), options)),
  );
}

/** Stops the consumer object of every spec (an operator pausing a service's consumption). */
export async function stopConsumerObjects(
  namespace: DurableObjectNamespace<EventConsumerDO>,
  specs: readonly ConsumerSpec[],
): Promise<void> {
  await Promise.all(specs.map((spec) => namespace.get(namespace.idFromName(consumerName(spec))).stop()));
}

/** Each consumer object's status (operators, tests). */
export function consumerObjectStatuses(
  namespace: DurableObjectNamespace<EventConsumerDO>,
  specs: readonly ConsumerSpec[],
): Promise<ConsumerStatus[]> {
  return Promise.all(specs.map((spec) => namespace.get(namespace.idFromName(consumerName(spec))).status()));
}

/**
 * A service's consumers, bound to its name, vars, database and specs: `start` (crons, first
 * request), `objects` (the namespace and specs, for the operators' routes), `statuses`, and
 * `host`, what the service's EventConsumerDO subclass answers.
 */
export function serviceConsumers(definition: {
  service: string;
  vars: (env: object) => { SERVICE_VERSION: string; LOG_LEVEL: LogLevel };
  settings: (env: object) => DatabaseSettings;
  specs: (env: object) => ConsumerSpec[];
  /** Work after a batch committed (see ConsumerHost.afterBatch). */
  afterBatch?: (env: object, events: KnownEvent[]) => Promise<void>;
}) {
  const objects = (env: object) => ({ namespace: consumerConfig(env).EVENT_CONSUMER, specs: definition.specs(env) });
  const { afterBatch } = definition;
  return {
    objects,
    start(env: object): Promise<void> {
      const { namespace, specs } = objects(env);
      return startConsumerObjects(namespace, specs);
    },
    statuses(env: object): Promise<ConsumerStatus[]> {
      const { namespace, specs } = objects(env);
      return consumerObjectStatuses(namespace, specs);
    },
    host(env: object): ConsumerHost {
      const { SERVICE_VERSION, LOG_LEVEL } = definition.vars(env);
      return {
        service: definition.service,
        version: SERVICE_VERSION,
        logLevel: LOG_LEVEL,
        settings: definition.settings(env),
        consumers: definition.specs(env),
        pollMs: consumerConfig(env).CONSUMER_POLL_MS,
        ...(afterBatch ? { afterBatch: (events: KnownEvent[]) => afterBatch(env, events) } : {}),
      };
    },
  };
}

/**
 * A fetch handler that also makes sure the service's consumers run, once per isolate (wrangler
 * dev runs no Cron Triggers; in production the cron does it too). A failed start is logged and
 * tried again on the next request.
 */
export function fetchStartingConsumers<E>(
  fetch: (request: Request, env: E, ctx: ExecutionContext) => Response | Promise<Response>,
  start: (env: E) => Promise<void>,
  log: (env: E) => Logger,
): (request: Request, env: E, ctx: ExecutionContext) => Response | Promise<Response> {
  let started = false;
  return (request, env, ctx) => {
    if (!started) {
      ctx.waitUntil(
        start(env).then(
          () => {
            started = true;
          },
          (error: unknown) => log(env).error("consumers not started", describeError(error)),
        ),
      );
    }
    return fetch(request, env, ctx);
  };
}
