import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { splitConcatenatedJson } from "../../shared/kafka/src/client.ts";
import { partitionForKey } from "../../shared/kafka/src/partitioner.ts";
import { KafkaLog, type StoredRecord } from "./log.ts";

/**
 * A Kafka REST broker for development: exactly the documented subset of the Confluent REST
 * Proxy API (also served by Confluent Cloud for v3, and by Redpanda's HTTP Proxy for v2) that
 * edgebank's client uses, on a log kept in one journal file.
 * - v3: `GET /v3/clusters`, `POST /v3/clusters/{id}/topics`, `POST
 *   /v3/clusters/{id}/topics/{topic}/records` (key, value, headers; JSON, STRING or BINARY; several
 *   records as concatenated JSON, the streaming form, answered with one report each).
 * - v2: `POST /topics/{topic}` (json and binary embedded formats), consumer instances: create,
 *   subscribe, fetch records (long poll with `timeout`), commit offsets (the proxy commits the
 *   given offset + 1, as Confluent's does), seek (`positions`), delete; a partition's beginning
 *   and end offsets.
 * Keyed records go where Kafka's default partitioner puts them (murmur2 of the key's bytes);
 * unkeyed ones round-robin. Partitions of a topic are shared among a group's live instances
 * (round-robin assignment); an instance idle for `instanceTimeoutMs` is dropped.
 */

export const CLUSTER_ID = "edgebank-dev";

export interface KafkaRestOptions {
  /** The journal file; omitted: in memory only. */
  journal?: string;
  /** Partitions of a topic created on first produce (Kafka's auto.create.topics). */
  defaultPartitions?: number;
  port?: number;
  instanceTimeoutMs?: number;
  /** Faults to inject from the start (see `KafkaRestServer.faults`). */
  faults?: BrokerFaults;
  /** Draws the faults' chances (a seeded generator replays a run); unset: Math.random. */
  random?: () => number;
}

/**
 * What a broker or the network in front of it does wrong, for the chaos run (chaos/): each the
 * way a real one fails, seen from the client as the real one would be.
 */
export interface BrokerFaults {
  /** Every request waits this long before the broker handles it (a slow or overloaded broker). */
  delayMs?: number;
  /**
   * The share of produce requests whose records are appended and whose answer is then lost (the
   * connection drops after the broker acknowledged): the producer cannot tell and sends them
   * again, so the log holds them twice.
   */
  lostAcks?: number;
  /**
   * The share of offset commits lost with the connection before the broker stored them: the
   * group reads those records again after its next rebalance or restart.
   */
  lostCommits?: number;
}

export interface KafkaRestServer {
  url: string;
  log: KafkaLog;
  /** The faults in force now; assign to change them while it runs. */
  faults: BrokerFaults;
  close(): Promise<void>;
}

interface ConsumerInstance {
  group: string;
  id: string;
  format: "json" | "binary";
  reset: "earliest" | "latest";
  topics: string[];
  /** "topic/partition" → the next offset this instance reads. */
  positions: Map<string, number>;
  createdAt: number;
  seenAt: number;
}

class RestError extends Error {
  readonly status: number;
  readonly errorCode: number;
  constructor(status: number, errorCode: number, message: string) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
  }
}

const V2_JSON = "application/vnd.kafka.json.v2+json";
const V2_BINARY = "application/vnd.kafka.binary.v2+json";
const V2 = "application/vnd.kafka.v2+json";

const encodeBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const decodeBase64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
const utf8 = (text: string) => new TextEncoder().encode(text);

/** The bytes of a v3 key or value: `{type, data}`. */
function v3Bytes(part: unknown, what: string): Uint8Array | null {
  if (part === undefined || part === null) return null;
  const { type = "JSON", data } = part as { type?: string; data?: unknown };
  if (type === "JSON") return utf8(JSON.stringify(data ?? null));
  if (type === "STRING") {
    if (typeof data !== "string") throw new RestError(422, 42201, `${what}.data must be a string for STRING.`);
    return utf8(data);
  }
  if (type === "BINARY") {
    if (typeof data !== "string") throw new RestError(422, 42201, `${what}.data must be base64 for BINARY.`);
    return decodeBase64(data);
  }
  throw new RestError(422, 42201, `${what}.type ${type} is not supported here (JSON, STRING, BINARY).`);
}

const pathOf = (request: IncomingMessage) => new URL(request.url ?? "/", "http://broker").pathname.replace(/\/+$/, "");

export async function startKafkaRestServer(options: KafkaRestOptions = {}): Promise<KafkaRestServer> {
  const log = new KafkaLog(options.journal);
  const defaultPartitions = options.defaultPartitions ?? 3;
  const instanceTimeoutMs = options.instanceTimeoutMs ?? 60_000;
  const instances = new Map<string, ConsumerInstance>();
  const roundRobin = new Map<string, number>();
  let baseUrl = "";

  const topicOrCreate = (topic: string) => {
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new RestError(422, 42202, `Invalid topic name ${topic}.`);
    if (log.partitions(topic) === undefined) log.createTopic(topic, defaultPartitions);
    return log.partitions(topic) ?? defaultPartitions;
  };

  const place = (topic: string, partitions: number, key: Uint8Array | null, asked: unknown): number => {
    if (asked !== undefined && asked !== null) {
      if (!Number.isInteger(asked) || (asked as number) < 0 || (asked as number) >= partitions) {
        throw new RestError(404, 40402, `Partition ${String(asked)} of topic ${topic} not found.`);
      }
      return asked as number;
    }
    if (key) return partitionForKey(key, partitions);
    const next = roundRobin.get(topic) ?? 0;
    roundRobin.set(topic, next + 1);
    return next % partitions;
  };

  const liveInstances = (group: string, now: number) => {
    for (const [key, instance] of instances) {
      if (now - instance.seenAt > instanceTimeoutMs) instances.delete(key);
    }
    return [...instances.values()].filter((i) => i.group === group).sort((a, b) => a.createdAt - b.createdAt);
  };

  /** The partitions of `instance`'s topics it owns now, with positions for new ones. */
  const assignment = (instance: ConsumerInstance, now: number) => {
    const members = liveInstances(instance.group, now).filter((i) => i.topics.some((t) => instance.topics.includes(t)));
    const index = members.indexOf(instance);
    const owned: Array<{ topic: string; partition: number }> = [];
    for (const topic of instance.topics) {
      const partitions = log.partitions(topic) ?? 0;
      for (let partition = 0; partition < partitions; partition++) {
        if (partition % members.length === index) owned.push({ topic, partition });
      }
    }
    const keys = new Set(owned.map((tp) => `${tp.topic}/${tp.partition}`));
    for (const key of instance.positions.keys()) if (!keys.has(key)) instance.positions.delete(key);
    for (const { topic, partition } of owned) {
      const key = `${topic}/${partition}`;
      if (!instance.positions.has(key)) {
        const committed = log.committed(instance.group, topic, partition);
        instance.positions.set(key, committed ?? (instance.reset === "earliest" ? 0 : log.end(topic, partition)));
      }
    }
    return owned;
  };

  const instanceOf = (group: string, id: string) => {
    const instance = instances.get(`${group}/${id}`);
    if (!instance || Date.now() - instance.seenAt > instanceTimeoutMs) {
      instances.delete(`${group}/${id}`);
      throw new RestError(404, 40403, "Consumer instance not found.");
    }
    instance.seenAt = Date.now();
    return instance;
  };

  const presentV2 = (instance: ConsumerInstance, topic: string, partition: number, record: StoredRecord) => {
    const decode = (bytes: string | null) => {
      if (bytes === null) return null;
      if (instance.format === "binary") return bytes;
      try {
        return JSON.parse(Buffer.from(bytes, "base64").toString("utf8")) as unknown;
      } catch {
        throw new RestError(500, 50002, `Record ${topic}/${partition}@${record.offset} is not JSON.`);
      }
    };
    return { topic, key: decode(record.key), value: decode(record.value), partition, offset: record.offset };
  };

  /** One v3 record: placed, appended, and its delivery report. */
  const produceV3 = (topic: string, input: Record<string, unknown>) => {
    const partitions = topicOrCreate(topic);
    const key = v3Bytes(input.key, "key");
    const value = v3Bytes(input.value, "value");
    const headers = Array.isArray(input.headers) ? (input.headers as Array<{ name?: unknown; value?: unknown }>) : [];
    for (const header of headers) {
      if (typeof header.name !== "string" || (header.value !== null && typeof header.value !== "string")) {
        throw new RestError(422, 42201, "headers are [{name, value (base64 or null)}].");
      }
    }
    const partition = place(topic, partitions, key, input.partition_id);
    const timestamp = typeof input.timestamp === "string" ? Date.parse(input.timestamp) : Date.now();
    const stored = log.append(topic, partition, {
      timestamp: Number.isFinite(timestamp) ? timestamp : Date.now(),
      key: key ? encodeBase64(key) : null,
      value: value ? encodeBase64(value) : null,
      headers: headers.map((h) => ({ name: h.name as string, value: (h.value as string | null) ?? null })),
    });
    return {
      error_code: 200,
      cluster_id: CLUSTER_ID,
      topic_name: topic,
      partition_id: partition,
      offset: stored.offset,
      timestamp: new Date(stored.timestamp).toISOString(),
      ...(key ? { key: { type: (input.key as { type?: string }).type ?? "JSON", size: key.length } } : {}),
      ...(value ? { value: { type: (input.value as { type?: string }).type ?? "JSON", size: value.length } } : {}),
    };
  };

  async function handle(
    request: IncomingMessage,
    body: string,
  ): Promise<{ status: number; json?: unknown; text?: string }> {
    const url = new URL(request.url ?? "/", "http://broker");
    const path = pathOf(request);
    const method = request.method ?? "GET";
    const parse = () => {
      try {
        return (body ? JSON.parse(body) : {}) as Record<string, unknown>;
      } catch {
        throw new RestError(400, 400, "The request body is not JSON.");
      }
    };
    let m: RegExpExecArray | null = null;

    // v3
    if (method === "GET" && (path === "/v3/clusters" || path === "/kafka/v3/clusters")) {
      return {
        status: 200,
        json: { kind: "KafkaClusterList", data: [{ kind: "KafkaCluster", cluster_id: CLUSTER_ID }] },
      };
    }
    m = /^(?:\/kafka)?\/v3\/clusters\/([^/]+)\/topics$/.exec(path);
    if (m) {
      if (m[1] !== CLUSTER_ID) throw new RestError(404, 404, `Cluster ${m[1]} not found.`);
      if (method === "GET") {
        return {
          status: 200,
          json: {
            kind: "KafkaTopicList",
            data: log.topics().map((topic_name) => ({ topic_name, partitions_count: log.partitions(topic_name) })),
          },
        };
      }
      if (method === "POST") {
        const input = parse();
        const name = String(input.topic_name ?? "");
        const partitions = Number(input.partitions_count ?? defaultPartitions);
        if (!/^[A-Za-z0-9._-]{1,249}$/.test(name) || !Number.isInteger(partitions) || partitions < 1) {
          throw new RestError(400, 400, "topic_name and a positive partitions_count are required.");
        }
        if (!log.createTopic(name, partitions)) throw new RestError(400, 40002, `Topic '${name}' already exists.`);
        return {
          status: 201,
          json: { kind: "KafkaTopic", cluster_id: CLUSTER_ID, topic_name: name, partitions_count: partitions },
        };
      }
    }
    m = /^(?:\/kafka)?\/v3\/clusters\/([^/]+)\/topics\/([^/]+)\/records$/.exec(path);
    if (method === "POST" && m) {
      const [, cluster = "", topic = ""] = m;
      if (cluster !== CLUSTER_ID) throw new RestError(404, 404, `Cluster ${cluster} not found.`);
      let values: unknown[];
      try {
        values = splitConcatenatedJson(body);
      } catch {
        throw new RestError(400, 400, "The request body is not JSON.");
      }
      if (values.length <= 1)
        return { status: 200, json: produceV3(topic, (values[0] ?? {}) as Record<string, unknown>) };
      // Several records (the streaming form): one delivery report each, in order, concatenated.
      const reports = values.map((value) => {
        try {
          return produceV3(topic, value as Record<string, unknown>);
        } catch (error) {
          const rest = error instanceof RestError ? error : new RestError(500, 500, String(error));
          return { error_code: rest.errorCode, message: rest.message };
        }
      });
      return { status: 200, text: reports.map((report) => JSON.stringify(report)).join("\n") };
    }

    // v2 produce
    m = /^\/topics\/([^/]+)$/.exec(path);
    if (method === "POST" && m) {
      const topic = m[1] ?? "";
      const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim();
      if (type !== V2_JSON && type !== V2_BINARY) {
        throw new RestError(415, 415, `Content-Type ${type || "(none)"} is not supported: ${V2_JSON} or ${V2_BINARY}.`);
      }
      const records = parse().records;
      if (!Array.isArray(records) || records.length === 0)
        throw new RestError(422, 42201, "records must be a non-empty array.");
      const partitions = topicOrCreate(topic);
      const bytes = (data: unknown): Uint8Array | null => {
        if (data === undefined || data === null) return null;
        if (type === V2_JSON) return utf8(JSON.stringify(data));
        if (typeof data !== "string") throw new RestError(422, 42201, "binary records carry base64 strings.");
        return decodeBase64(data);
      };
      const offsets = (records as Array<{ key?: unknown; value?: unknown; partition?: unknown }>).map((record) => {
        const key = bytes(record.key);
        const value = bytes(record.value);
        const partition = place(topic, partitions, key, record.partition);
        const stored = log.append(topic, partition, {
          timestamp: Date.now(),
          key: key ? encodeBase64(key) : null,
          value: value ? encodeBase64(value) : null,
          headers: [],
        });
        return { partition, offset: stored.offset, error_code: null, error: null };
      });
      return { status: 200, json: { key_schema_id: null, value_schema_id: null, offsets } };
    }

    // v2 partition offsets
    m = /^\/topics\/([^/]+)\/partitions\/([0-9]+)\/offsets$/.exec(path);
    if (method === "GET" && m) {
      const [, topic = "", partition = "0"] = m;
      const partitions = log.partitions(topic);
      if (partitions === undefined) throw new RestError(404, 40401, `Topic ${topic} not found.`);
      if (Number(partition) >= partitions) throw new RestError(404, 40402, "Partition not found.");
      return { status: 200, json: { beginning_offset: 0, end_offset: log.end(topic, Number(partition)) } };
    }

    // v2 consumers
    m = /^\/consumers\/([^/]+)$/.exec(path);
    if (method === "POST" && m) {
      const group = m[1] ?? "";
      const input = parse();
      const id = typeof input.name === "string" && input.name ? input.name : `rest-consumer-${randomUUID()}`;
      const format = input.format ?? "binary";
      const reset = input["auto.offset.reset"] ?? "latest";
      if ((format !== "json" && format !== "binary") || (reset !== "earliest" && reset !== "latest")) {
        throw new RestError(422, 42204, "format is json or binary; auto.offset.reset is earliest or latest.");
      }
      if (instances.has(`${group}/${id}`)) {
        throw new RestError(
          409,
          40902,
          "Consumer with specified consumer ID already exists in the specified consumer group.",
        );
      }
      const now = Date.now();
      instances.set(`${group}/${id}`, {
        group,
        id,
        format,
        reset,
        topics: [],
        positions: new Map(),
        createdAt: now,
        seenAt: now,
      });
      return { status: 200, json: { instance_id: id, base_uri: `${baseUrl}/consumers/${group}/instances/${id}` } };
    }
    m = /^\/consumers\/([^/]+)\/instances\/([^/]+)(\/[a-z]+)?$/.exec(path);
    if (m) {
      const [, group = "", id = "", action = ""] = m;
      if (method === "DELETE" && action === "") {
        instanceOf(group, id);
        instances.delete(`${group}/${id}`);
        return { status: 204 };
      }
      const instance = instanceOf(group, id);
      if (action === "/subscription" && method === "POST") {
        const topics = parse().topics;
        if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => typeof t === "string")) {
          throw new RestError(422, 42201, "topics must be a non-empty array of names.");
        }
        for (const topic of topics as string[]) topicOrCreate(topic);
        instance.topics = topics as string[];
        instance.positions.clear();
        return { status: 204 };
      }
      if (action === "/subscription" && method === "DELETE") {
        instance.topics = [];
        instance.positions.clear();
        return { status: 204 };
      }
      if (action === "/records" && method === "GET") {
        const accept = (request.headers.accept ?? "").split(",").map((a) => a.split(";")[0]?.trim());
        const wanted = instance.format === "json" ? V2_JSON : V2_BINARY;
        if (!accept.includes(wanted))
          throw new RestError(406, 40601, `Accept ${wanted} for a ${instance.format} consumer.`);
        const timeout = Math.min(Number(url.searchParams.get("timeout") ?? 1000) || 0, 5_000);
        const maxBytes = Number(url.searchParams.get("max_bytes") ?? 1_048_576) || 1_048_576;
        const deadline = Date.now() + timeout;
        for (;;) {
          const out: unknown[] = [];
          let bytes = 0;
          for (const { topic, partition } of assignment(instance, Date.now())) {
            const key = `${topic}/${partition}`;
            const position = instance.positions.get(key) ?? 0;
            for (const record of log.read(topic, partition, position, 500)) {
              const size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
              if (out.length > 0 && bytes + size > maxBytes) break;
              out.push(presentV2(instance, topic, partition, record));
              bytes += size;
              instance.positions.set(key, record.offset + 1);
            }
          }
          if (out.length > 0 || Date.now() >= deadline) return { status: 200, json: out };
          await new Promise((resolve) => setTimeout(resolve, 25));
          instance.seenAt = Date.now();
        }
      }
      if (action === "/positions" && method === "POST") {
        const offsets = parse().offsets;
        if (!Array.isArray(offsets)) throw new RestError(422, 42201, "offsets must be an array.");
        const owned = new Set(assignment(instance, Date.now()).map((tp) => `${tp.topic}/${tp.partition}`));
        for (const entry of offsets as Array<{ topic?: unknown; partition?: unknown; offset?: unknown }>) {
          const key = `${String(entry.topic)}/${String(entry.partition)}`;
          if (!owned.has(key)) throw new RestError(404, 40402, `Partition ${key} is not assigned to this instance.`);
          if (!Number.isInteger(entry.offset) || (entry.offset as number) < 0) {
            throw new RestError(422, 42201, "offset must be a non-negative integer.");
          }
          instance.positions.set(key, entry.offset as number);
        }
        return { status: 204 };
      }
      if (action === "/offsets" && method === "POST") {
        const offsets = parse().offsets;
        if (!Array.isArray(offsets)) throw new RestError(422, 42201, "offsets must be an array.");
        for (const entry of offsets as Array<{ topic?: unknown; partition?: unknown; offset?: unknown }>) {
          const partitions = typeof entry.topic === "string" ? log.partitions(entry.topic) : undefined;
          if (partitions === undefined) throw new RestError(404, 40401, `Topic ${String(entry.topic)} not found.`);
          if (!Number.isInteger(entry.partition) || (entry.partition as number) >= partitions) {
            throw new RestError(404, 40402, "Partition not found.");
          }
          if (!Number.isInteger(entry.offset) || (entry.offset as number) < 0) {
            throw new RestError(422, 42201, "offset must be a non-negative integer.");
          }
          // The REST Proxy commits the next offset to read: the last one consumed + 1.
          log.commit(group, entry.topic as string, entry.partition as number, (entry.offset as number) + 1);
        }
        return { status: 200 };
      }
    }
    throw new RestError(404, 404, `No route for ${method} ${path}.`);
  }

  const random = options.random ?? Math.random;
  const broker = { faults: { ...options.faults } as BrokerFaults };
  const isProduce = (request: IncomingMessage) =>
    request.method === "POST" &&
    /^(?:(?:\/kafka)?\/v3\/clusters\/[^/]+\/topics\/[^/]+\/records|\/topics\/[^/]+)$/.test(pathOf(request));
  const isCommit = (request: IncomingMessage) =>
    request.method === "POST" && /^\/consumers\/[^/]+\/instances\/[^/]+\/offsets$/.test(pathOf(request));
  const chance = (share: number | undefined) => share !== undefined && share > 0 && random() < share;

  const server: Server = createServer((request, response: ServerResponse) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", async () => {
      const { delayMs, lostAcks, lostCommits } = broker.faults;
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (isCommit(request) && chance(lostCommits)) {
        request.socket.destroy();
        return;
      }
      const ackLost = isProduce(request) && chance(lostAcks);
      handle(request, body).then(
        ({ status, json, text }) => {
          if (ackLost && status < 300) {
            request.socket.destroy();
            return;
          }
          if (text !== undefined) {
            response.writeHead(status, { "content-type": "application/json" }).end(text);
            return;
          }
          if (json === undefined) {
            response.writeHead(status).end();
            return;
          }
          const type = request.url?.startsWith("/v3") || request.url?.startsWith("/kafka/v3") ? "application/json" : V2;
          response.writeHead(status, { "content-type": type }).end(JSON.stringify(json));
        },
        (error: unknown) => {
          const rest =
            error instanceof RestError
              ? error
              : new RestError(500, 500, error instanceof Error ? error.message : String(error));
          response
            .writeHead(rest.status, { "content-type": "application/json" })
            .end(JSON.stringify({ error_code: rest.errorCode, message: rest.message }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    log,
    get faults() {
      return broker.faults;
    },
    set faults(faults: BrokerFaults) {
      broker.faults = { ...faults };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
