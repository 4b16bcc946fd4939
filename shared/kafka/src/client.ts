import { DownstreamPolicy, type DownstreamPolicyOverrides } from "@edgebank/resilience";
import { withSpan } from "@edgebank/telemetry";

/**
 * A Kafka client over the Kafka REST Proxy API, for Workers (fetch only, no sockets):
 * - `v3` produce: `POST /v3/clusters/{cluster}/topics/{topic}/records` (Confluent Cloud serves it
 *   under `/kafka/v3`, Confluent REST Proxy under `/v3`): key and value as JSON, record headers
 *   (base64 values) carry `traceparent` and `event-id`.
 * - `v2` produce: `POST /topics/{topic}` with the json embedded format (Confluent REST Proxy,
 *   Redpanda HTTP Proxy). The v2 API has no record headers: consumers read the event id and
 *   traceparent from the CloudEvents envelope in the value, which both flavours carry anyway.
 * - `v2` consumer groups: create an instance, subscribe, fetch records, commit offsets, seek
 *   (positions), delete; and a partition's beginning and end offsets (for consumer lag).
 * Keys and values are JSON, so a key's bytes (and so its partition, by Kafka's murmur2
 * partitioner) are the same whichever flavour produced it. Every call runs through the shared
 * resilience policy (attempt timeout, retries with full jitter for 5xx and network failures,
 * circuit breaker, bulkhead).
 */

export interface KafkaRestConfig {
  /** Base URL: `https://pkc-….confluent.cloud:443/kafka` (Confluent Cloud) or the proxy's root. */
  url: string;
  /** Which produce API to use; consumers always use v2. */
  produceApi: "v3" | "v2";
  /** v3 only: the cluster id. */
  clusterId?: string;
  /** HTTP Basic credentials (Confluent Cloud API key and secret). */
  username?: string;
  password?: string;
}

export interface OutgoingRecord {
  topic: string;
  /** The aggregate id: every record of one aggregate lands on one partition, in order. */
  key: string;
  value: unknown;
  /** v3 only: record headers (traceparent, event-id). */
  headers?: Record<string, string>;
}

export interface Delivery {
  partition: number;
  offset: number;
}

export interface ConsumedRecord {
  topic: string;
  key: unknown;
  value: unknown;
  partition: number;
  offset: number;
}

export interface ConsumerInstance {
  group: string;
  id: string;
  baseUri: string;
}

/** A Kafka REST error: `status`, the proxy's `errorCode`, and whether retrying may help. */
export class KafkaRestError extends Error {
  readonly status: number;
  readonly errorCode: number | undefined;
  readonly retryable: boolean;
  constructor(status: number, errorCode: number | undefined, message: string) {
    super(message);
    this.name = "KafkaRestError";
    this.status = status;
    this.errorCode = errorCode;
    this.retryable = status === 0 || status === 429 || status >= 500;
  }

  /** The consumer instance is gone (proxy restart, idle timeout): create a new one. */
  get instanceGone(): boolean {
    return this.status === 404 && this.errorCode === 40403;
  }
}

const V2 = "application/vnd.kafka.v2+json";
const V2_JSON = "application/vnd.kafka.json.v2+json";

const base64 = (text: string) => {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
};

/** OpenTelemetry messaging attributes of a produce request. */
function publishAttributes(topic: string, count: number) {
  return {
    "messaging.system": "kafka",
    "messaging.operation.type": "send",
    "messaging.destination.name": topic,
    "messaging.batch.message_count": count,
  };
}

export class KafkaRestClient {
  readonly #config: KafkaRestConfig;
  readonly #policy: DownstreamPolicy;
  readonly #fetch: typeof fetch;

  constructor(config: KafkaRestConfig, options: { policy?: DownstreamPolicyOverrides; fetch?: typeof fetch } = {}) {
    if (config.produceApi === "v3" && !config.clusterId) throw new Error("v3 produce needs a clusterId");
    this.#config = { ...config, url: config.url.replace(/\/+$/, "") };
    this.#policy = new DownstreamPolicy(`kafka-rest ${this.#config.url}`, {
      attemptTimeoutMs: 5_000,
      ...options.policy,
      isRetryable: (error) => (error instanceof KafkaRestError ? error.retryable : true),
      isFailure: (error) => !(error instanceof KafkaRestError) || error.retryable,
    });
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async #call(
    method: string,
    url: string,
    init: {
      body?: unknown;
      rawBody?: string;
      raw?: boolean;
      contentType?: string;
      accept?: string;
      retry?: boolean;
    } = {},
  ): Promise<unknown> {
    const headers = new Headers({ accept: init.accept ?? "application/json" });
    const payload = init.rawBody ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined);
    if (payload !== undefined) headers.set("content-type", init.contentType ?? "application/json");
    if (this.#config.username !== undefined) {
      headers.set("authorization", `Basic ${base64(`${this.#config.username}:${this.#config.password ?? ""}`)}`);
    }
    const attempt = async (signal: AbortSignal) => {
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method,
          headers,
          signal,
          ...(payload !== undefined ? { body: payload } : {}),
        });
      } catch (error) {
        throw new KafkaRestError(0, undefined, `${method} ${url}: ${error instanceof Error ? error.message : error}`);
      }
      const text = await response.text();
      if (response.ok && init.raw) return text;
      let json: unknown;
      try {
        json = text ? (JSON.parse(text) as unknown) : undefined;
      } catch {
        json = undefined;
      }
      if (!response.ok) {
        const problem = (json ?? {}) as { error_code?: number; message?: string };
        throw new KafkaRestError(
          response.status,
          problem.error_code,
          `${method} ${new URL(url).pathname}: ${response.status} ${problem.message ?? text.slice(0, 200)}`,
        );
      }
      return json;
    };
    // Commits and consumer-instance calls are not retried blindly: their caller decides.
    return init.retry === false ? attempt(AbortSignal.timeout(5_000)) : this.#policy.execute(attempt);
  }

  /** Publishes one record; resolves once the broker has acknowledged it. */
  produce(record: OutgoingRecord): Promise<Delivery> {
    return withSpan(
      `publish ${record.topic}`,
      { kind: "producer", attributes: publishAttributes(record.topic, 1) },
      () => this.#produce(record),
    );
  }

  async #produce(record: OutgoingRecord): Promise<Delivery> {
    const topic = encodeURIComponent(record.topic);
    if (this.#config.produceApi === "v3") {
      const body = {
        key: { type: "JSON", data: record.key },
        value: { type: "JSON", data: record.value },
        headers: Object.entries(record.headers ?? {}).map(([name, value]) => ({ name, value: base64(value) })),
      };
      const cluster = encodeURIComponent(this.#config.clusterId ?? "");
      const answer = (await this.#call("POST", `${this.#config.url}/v3/clusters/${cluster}/topics/${topic}/records`, {
        body,
      })) as { error_code?: number; partition_id?: number; offset?: number; message?: string };
      if (answer.error_code !== 200 || answer.partition_id === undefined || answer.offset === undefined) {
        throw new KafkaRestError(
          502,
          answer.error_code,
          `produce to ${record.topic} not acknowledged: ${answer.message ?? "?"}`,
        );
      }
      return { partition: answer.partition_id, offset: answer.offset };
    }
    const answer = (await this.#call("POST", `${this.#config.url}/topics/${topic}`, {
      body: { records: [{ key: record.key, value: record.value }] },
      contentType: V2_JSON,
      accept: V2,
    })) as { offsets?: Array<{ partition: number; offset: number; error_code: number | null; error: string | null }> };
    const [delivery] = answer.offsets ?? [];
    if (!delivery || delivery.error_code !== null) {
      throw new KafkaRestError(
        502,
        delivery?.error_code ?? undefined,
        `produce to ${record.topic}: ${delivery?.error ?? "no offset"}`,
      );
    }
    return { partition: delivery.partition, offset: delivery.offset };
  }

  /**
   * Publishes several records of one topic in one request, in order (each partition appends them
   * in the order given); resolves with each record's delivery or its own error. v3 sends them as
   * concatenated JSON, the API's streaming form, and reads one delivery report per record; v2
   * sends one `records` array. A failure of the whole request (the broker down) throws.
   */
  produceBatch(
    topic: string,
    records: Array<Omit<OutgoingRecord, "topic">>,
  ): Promise<Array<Delivery | KafkaRestError>> {
    if (records.length === 0) return Promise.resolve([]);
    return withSpan(
      `publish ${topic}`,
      { kind: "producer", attributes: publishAttributes(topic, records.length) },
      () => this.#produceBatch(topic, records),
    );
  }

  async #produceBatch(
    topic: string,
    records: Array<Omit<OutgoingRecord, "topic">>,
  ): Promise<Array<Delivery | KafkaRestError>> {
    const name = encodeURIComponent(topic);
    if (this.#config.produceApi === "v3") {
      const body = records
        .map((record) =>
          JSON.stringify({
            key: { type: "JSON", data: record.key },
            value: { type: "JSON", data: record.value },
            headers: Object.entries(record.headers ?? {}).map(([header, value]) => ({
              name: header,
              value: base64(value),
            })),
          }),
        )
        .join("\n");
      const cluster = encodeURIComponent(this.#config.clusterId ?? "");
      const text = (await this.#call("POST", `${this.#config.url}/v3/clusters/${cluster}/topics/${name}/records`, {
        rawBody: body,
        raw: true,
      })) as string;
      const reports = splitConcatenatedJson(text) as Array<{
        error_code?: number;
        partition_id?: number;
        offset?: number;
        message?: string;
      }>;
      return records.map((_, index) => {
        const report = reports[index];
        if (report?.error_code === 200 && report.partition_id !== undefined && report.offset !== undefined) {
          return { partition: report.partition_id, offset: report.offset };
        }
        return new KafkaRestError(
          502,
          report?.error_code,
          `produce to ${topic}: ${report?.message ?? "no delivery report"}`,
        );
      });
    }
    const answer = (await this.#call("POST", `${this.#config.url}/topics/${name}`, {
      body: { records: records.map((record) => ({ key: record.key, value: record.value })) },
      contentType: V2_JSON,
      accept: V2,
    })) as { offsets?: Array<{ partition: number; offset: number; error_code: number | null; error: string | null }> };
    return records.map((_, index) => {
      const delivery = answer.offsets?.[index];
      if (delivery && delivery.error_code === null) return { partition: delivery.partition, offset: delivery.offset };
      return new KafkaRestError(
        502,
        delivery?.error_code ?? undefined,
        `produce to ${topic}: ${delivery?.error ?? "no offset"}`,
      );
    });
  }

  /** A new consumer instance in `group` (json format, no auto-commit). */
  async createConsumer(
    group: string,
    options: { name?: string; reset?: "earliest" | "latest" } = {},
  ): Promise<ConsumerInstance> {
    const answer = (await this.#call("POST", `${this.#config.url}/consumers/${encodeURIComponent(group)}`, {
      body: {
        ...(options.name ? { name: options.name } : {}),
        format: "json",
        "auto.offset.reset": options.reset ?? "earliest",
        "auto.commit.enable": "false",
      },
      contentType: V2,
      accept: V2,
      retry: false,
    })) as { instance_id: string; base_uri: string };
    return { group, id: answer.instance_id, baseUri: answer.base_uri };
  }

  async subscribe(consumer: ConsumerInstance, topics: string[]): Promise<void> {
    await this.#call("POST", `${consumer.baseUri}/subscription`, {
      body: { topics },
      contentType: V2,
      accept: V2,
      retry: false,
    });
  }

  /** The next records for this instance; waits up to `timeoutMs` for some to arrive. */
  async fetchRecords(
    consumer: ConsumerInstance,
    options: { timeoutMs?: number; maxBytes?: number } = {},
  ): Promise<ConsumedRecord[]> {
    const query = new URLSearchParams({
      timeout: String(options.timeoutMs ?? 1_000),
      max_bytes: String(options.maxBytes ?? 1_048_576),
    });
    return ((await this.#call("GET", `${consumer.baseUri}/records?${query}`, { accept: V2_JSON, retry: false })) ??
      []) as ConsumedRecord[];
  }

  /** Commits, per partition, the offset of the last record handled (the proxy stores it + 1). */
  async commit(
    consumer: ConsumerInstance,
    offsets: Array<{ topic: string; partition: number; offset: number }>,
  ): Promise<void> {
    if (offsets.length === 0) return;
    await this.#call("POST", `${consumer.baseUri}/offsets`, {
      body: { offsets },
      contentType: V2,
      accept: V2,
      retry: false,
    });
  }

  /**
   * Moves this instance's fetch position back (or on) to `offset` per partition: after a
   * handler failed, the records it fetched but did not handle are read again.
   */
  async seek(
    consumer: ConsumerInstance,
    offsets: Array<{ topic: string; partition: number; offset: number }>,
  ): Promise<void> {
    if (offsets.length === 0) return;
    await this.#call("POST", `${consumer.baseUri}/positions`, {
      body: { offsets },
      contentType: V2,
      accept: V2,
      retry: false,
    });
  }

  /** A partition's first offset and the offset the next record will get (for consumer lag). */
  async partitionOffsets(topic: string, partition: number): Promise<{ beginning: number; end: number }> {
    const answer = (await this.#call(
      "GET",
      `${this.#config.url}/topics/${encodeURIComponent(topic)}/partitions/${partition}/offsets`,
      { accept: V2 },
    )) as { beginning_offset: number; end_offset: number };
    return { beginning: answer.beginning_offset, end: answer.end_offset };
  }

  async deleteConsumer(consumer: ConsumerInstance): Promise<void> {
    await this.#call("DELETE", consumer.baseUri, { contentType: V2, accept: V2, retry: false });
  }
}

/** The JSON values of a concatenated-JSON text (`{…}{…}` or one per line), in order. */
export function splitConcatenatedJson(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (char === "\\") escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === "{" || char === "[") {
      if (depth === 0) start = i;
      depth += 1;
    } else if (char === "}" || char === "]") {
      depth -= 1;
      if (depth === 0 && start >= 0) {
        values.push(JSON.parse(text.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  return values;
}
