import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KafkaRestClient, KafkaRestError, partitionForKey } from "@edgebank/kafka";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLUSTER_ID, type KafkaRestServer, startKafkaRestServer } from "../server.ts";

/**
 * Conformance of the development broker, driven through edgebank's own Kafka REST client
 * (both produce flavours) and checked against the documented response shapes of the Confluent
 * REST Proxy API (v3 produce, v2 produce, v2 consumer instances).
 */

const work = mkdtempSync(join(tmpdir(), "edgebank-kafka-rest-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let broker: KafkaRestServer;
let journal = "";
beforeEach(async () => {
  journal = join(work, `${crypto.randomUUID()}.jsonl`);
  broker = await startKafkaRestServer({ journal, defaultPartitions: 4 });
});
afterEach(() => broker.close());

const v3 = () => new KafkaRestClient({ url: broker.url, produceApi: "v3", clusterId: CLUSTER_ID });
const v2 = () => new KafkaRestClient({ url: broker.url, produceApi: "v2" });
const topic = () => `test.${crypto.randomUUID().slice(0, 8)}`;

describe("v3 produce", () => {
  it("answers the documented delivery report, on the partition Kafka's partitioner picks for the key", async () => {
    const name = topic();
    const response = await fetch(`${broker.url}/v3/clusters/${CLUSTER_ID}/topics/${name}/records`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        key: { type: "JSON", data: "trf_1" },
        value: { type: "JSON", data: { type: "TransferCompleted" } },
        headers: [{ name: "traceparent", value: btoa("00-abc-def-01") }],
      }),
    });
    expect(response.status).toBe(200);
    const report = (await response.json()) as Record<string, unknown>;
    expect(report).toMatchObject({
      error_code: 200,
      cluster_id: CLUSTER_ID,
      topic_name: name,
      partition_id: partitionForKey('"trf_1"', 4),
      offset: 0,
      key: { type: "JSON", size: 7 },
      value: { type: "JSON" },
    });
    expect(Date.parse(String(report.timestamp))).not.toBeNaN();

    // Through the client: same key, same partition, next offset; headers kept as base64.
    const delivery = await v3().produce({ topic: name, key: "trf_1", value: { n: 2 }, headers: { "event-id": "e2" } });
    expect(delivery).toEqual({ partition: report.partition_id, offset: 1 });
    const stored = broker.log.read(name, delivery.partition, 0, 10);
    expect(stored.map((r) => r.headers)).toEqual([
      [{ name: "traceparent", value: btoa("00-abc-def-01") }],
      [{ name: "event-id", value: btoa("e2") }],
    ]);
  });

  it("takes several records in one request (concatenated JSON), one delivery report each, in order", async () => {
    const name = topic();
    const records = [
      { key: "acc_1", value: { n: 1 } },
      { key: "acc_2", value: { n: 2 } },
      { key: "acc_1", value: { n: 3 } },
    ];
    for (const client of [v3(), v2()]) {
      const deliveries = await client.produceBatch(name, records);
      expect(deliveries).toHaveLength(3);
      for (const [index, delivery] of deliveries.entries()) {
        const key = new TextEncoder().encode(JSON.stringify(records[index]?.key));
        expect(delivery).toMatchObject({ partition: partitionForKey(key, 4) });
      }
      // acc_1's two records landed in order on its partition.
      const [first, , third] = deliveries as Array<{ offset: number }>;
      expect((third?.offset ?? 0) - (first?.offset ?? 0)).toBe(1);
    }
    // A bad record in the stream gets its own error report; the others are delivered.
    const response = await fetch(`${broker.url}/v3/clusters/${CLUSTER_ID}/topics/${name}/records`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `${JSON.stringify({ value: { type: "JSON", data: 1 } })}\n${JSON.stringify({ value: { type: "AVRO", data: 1 } })}`,
    });
    expect(response.status).toBe(200);
    const reports = (await response.text()).split("\n").map((line) => JSON.parse(line) as { error_code: number });
    expect(reports.map((r) => r.error_code)).toEqual([200, 42201]);
  });

  it("refuses an unknown cluster (404) and a malformed record (422), in the proxy's error shape", async () => {
    const unknown = await fetch(`${broker.url}/v3/clusters/nope/topics/t/records`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error_code: 404, message: expect.any(String) });
    const malformed = await fetch(`${broker.url}/v3/clusters/${CLUSTER_ID}/topics/t/records`, {
      method: "POST",
      body: JSON.stringify({ value: { type: "AVRO", data: 1 } }),
    });
    expect(malformed.status).toBe(422);
    await expect(v3().produce({ topic: "bad topic!", key: "k", value: 1 })).rejects.toBeInstanceOf(KafkaRestError);
  });
});

describe("v2 produce and consumer groups", () => {
  it("produces with the json embedded format; a group reads every record once, in order per key", async () => {
    const name = topic();
    const producer = v2();
    const deliveries = [];
    for (let i = 0; i < 12; i++)
      deliveries.push(await producer.produce({ topic: name, key: `acc_${i % 3}`, value: { i } }));
    // One key, one partition: the three aggregates' records keep their order.
    for (const key of [0, 1, 2]) {
      const partitions = new Set(deliveries.filter((_, i) => i % 3 === key).map((d) => d.partition));
      expect(partitions.size).toBe(1);
    }

    const client = v2();
    const consumer = await client.createConsumer("notifications", { reset: "earliest" });
    expect(consumer.baseUri).toBe(`${broker.url}/consumers/notifications/instances/${consumer.id}`);
    await client.subscribe(consumer, [name]);
    const seen: Array<{ key: unknown; i: number; partition: number; offset: number }> = [];
    while (seen.length < 12) {
      const batch = await client.fetchRecords(consumer, { timeoutMs: 500 });
      for (const record of batch) {
        expect(record.topic).toBe(name);
        seen.push({
          key: record.key,
          i: (record.value as { i: number }).i,
          partition: record.partition,
          offset: record.offset,
        });
      }
      if (batch.length === 0) break;
    }
    expect(seen).toHaveLength(12);
    for (const key of ["acc_0", "acc_1", "acc_2"]) {
      const order = seen.filter((r) => r.key === key).map((r) => r.i);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(await client.fetchRecords(consumer, { timeoutMs: 100 })).toEqual([]);
  });

  it("resumes from committed offsets (last handled + 1) after the broker restarts from its journal", async () => {
    const name = topic();
    const client = v2();
    for (let i = 0; i < 6; i++) await client.produce({ topic: name, key: "acc_x", value: { i } });
    const consumer = await client.createConsumer("ledger", { reset: "earliest" });
    await client.subscribe(consumer, [name]);
    const first = await client.fetchRecords(consumer, { timeoutMs: 500 });
    expect(first.map((r) => (r.value as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5]);
    // The handler finished the first four only.
    const fourth = first[3];
    if (!fourth) throw new Error("no fourth record");
    await client.commit(consumer, [{ topic: name, partition: fourth.partition, offset: fourth.offset }]);

    await broker.close();
    broker = await startKafkaRestServer({ journal, defaultPartitions: 4 });
    const again = v2();
    // The instance did not survive the restart: the documented 40403, then a new instance.
    const gone = await again
      .fetchRecords(
        { ...consumer, baseUri: consumer.baseUri.replace(/:\d+\//, `:${new URL(broker.url).port}/`) },
        { timeoutMs: 0 },
      )
      .catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(KafkaRestError);
    expect((gone as KafkaRestError).instanceGone).toBe(true);
    const fresh = await again.createConsumer("ledger", { reset: "earliest" });
    await again.subscribe(fresh, [name]);
    const rest = await again.fetchRecords(fresh, { timeoutMs: 500 });
    expect(rest.map((r) => (r.value as { i: number }).i)).toEqual([4, 5]);
  });

  it("seeks back to re-read what a handler did not finish; reports a partition's end offset for lag", async () => {
    const name = topic();
    const client = v2();
    for (let i = 0; i < 3; i++) await client.produce({ topic: name, key: "acc_y", value: { i } });
    const partition = partitionForKey(new TextEncoder().encode(JSON.stringify("acc_y")), 4);
    expect(await client.partitionOffsets(name, partition)).toEqual({ beginning: 0, end: 3 });
    const consumer = await client.createConsumer("seeker", { reset: "earliest" });
    await client.subscribe(consumer, [name]);
    const first = await client.fetchRecords(consumer, { timeoutMs: 500 });
    expect(first.map((r) => r.offset)).toEqual([0, 1, 2]);
    // Nothing more without a seek: the instance's position moved past what it fetched.
    expect(await client.fetchRecords(consumer, { timeoutMs: 0 })).toEqual([]);
    await client.seek(consumer, [{ topic: name, partition, offset: 1 }]);
    const again = await client.fetchRecords(consumer, { timeoutMs: 500 });
    expect(again.map((r) => (r.value as { i: number }).i)).toEqual([1, 2]);
    // A partition the instance does not own, and an unknown topic: the documented 404s.
    const foreign = await client.seek(consumer, [{ topic: name, partition: 9, offset: 0 }]).catch((e: unknown) => e);
    expect((foreign as KafkaRestError).status).toBe(404);
    const unknown = await client.partitionOffsets("test.none", 0).catch((e: unknown) => e);
    expect((unknown as KafkaRestError).errorCode).toBe(40401);
  });

  it("a long poll returns as soon as a record arrives", async () => {
    const name = topic();
    const client = v2();
    const consumer = await client.createConsumer("latency", { reset: "latest" });
    await client.subscribe(consumer, [name]);
    const started = Date.now();
    const pending = client.fetchRecords(consumer, { timeoutMs: 3_000 });
    setTimeout(() => void v3().produce({ topic: name, key: "k", value: "now" }), 150);
    const records = await pending;
    expect(records.map((r) => r.value)).toEqual(["now"]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("shares a topic's partitions among a group's instances, each partition to one of them", async () => {
    const name = topic();
    const client = v2();
    for (let i = 0; i < 40; i++) await client.produce({ topic: name, key: `k${i}`, value: i });
    const a = await client.createConsumer("split", { reset: "earliest" });
    const b = await client.createConsumer("split", { reset: "earliest" });
    await client.subscribe(a, [name]);
    await client.subscribe(b, [name]);
    const fromA = await client.fetchRecords(a, { timeoutMs: 200 });
    const fromB = await client.fetchRecords(b, { timeoutMs: 200 });
    const partitionsA = new Set(fromA.map((r) => r.partition));
    const partitionsB = new Set(fromB.map((r) => r.partition));
    expect([...partitionsA].filter((p) => partitionsB.has(p))).toEqual([]);
    expect(fromA.length + fromB.length).toBe(40);
  });

  it("speaks the v2 content types and errors: 415, 406, 409, 404 after delete", async () => {
    const wrongType = await fetch(`${broker.url}/topics/t1`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ records: [{ value: 1 }] }),
    });
    expect(wrongType.status).toBe(415);
    const client = v2();
    const consumer = await client.createConsumer("errors", { name: "only-one" });
    const duplicate = await client.createConsumer("errors", { name: "only-one" }).catch((e: unknown) => e);
    expect(duplicate).toMatchObject({ status: 409, errorCode: 40902 });
    await client.subscribe(consumer, ["t1"]);
    const binaryAccept = await fetch(`${consumer.baseUri}/records`, {
      headers: { accept: "application/vnd.kafka.binary.v2+json" },
    });
    expect(binaryAccept.status).toBe(406);
    await client.deleteConsumer(consumer);
    const gone = await client.fetchRecords(consumer, { timeoutMs: 0 }).catch((e: unknown) => e);
    expect((gone as KafkaRestError).instanceGone).toBe(true);
  });
});

describe("faults (the chaos run's broker)", () => {
  it("a lost acknowledgement: the records are in the log, the producer sees the connection drop", async () => {
    const name = topic();
    const client = v2();
    await client.produce({ topic: name, key: "acc_z", value: { i: 0 } });
    broker.faults = { lostAcks: 1 };
    const lost = fetch(`${broker.url}/topics/${name}`, {
      method: "POST",
      headers: { "content-type": "application/vnd.kafka.json.v2+json" },
      body: JSON.stringify({ records: [{ key: "acc_z", value: { i: 1 } }] }),
    });
    await expect(lost).rejects.toThrow();
    broker.faults = {};
    // The producer sends it again, as a relay does: the log holds it twice.
    await client.produce({ topic: name, key: "acc_z", value: { i: 1 } });
    const partition = partitionForKey(new TextEncoder().encode(JSON.stringify("acc_z")), 4);
    expect(await client.partitionOffsets(name, partition)).toEqual({ beginning: 0, end: 3 });
  });

  it("a lost offset commit is not stored: a new instance of the group reads those records again", async () => {
    const name = topic();
    const client = v2();
    for (let i = 0; i < 3; i++) await client.produce({ topic: name, key: "acc_w", value: { i } });
    const consumer = await client.createConsumer("lossy", { reset: "earliest" });
    await client.subscribe(consumer, [name]);
    const read = await client.fetchRecords(consumer, { timeoutMs: 500 });
    const last = read.at(-1);
    if (!last) throw new Error("nothing read");
    broker.faults = { lostCommits: 1 };
    await expect(
      client.commit(consumer, [{ topic: name, partition: last.partition, offset: last.offset }]),
    ).rejects.toThrow();
    broker.faults = {};
    await client.deleteConsumer(consumer);
    const fresh = await client.createConsumer("lossy", { reset: "earliest" });
    await client.subscribe(fresh, [name]);
    const again = await client.fetchRecords(fresh, { timeoutMs: 500 });
    expect(again.map((r) => (r.value as { i: number }).i)).toEqual([0, 1, 2]);
  });

  it("a slow broker answers every request late, and right again once healed", async () => {
    const name = topic();
    const client = v2();
    broker.faults = { delayMs: 300 };
    const started = performance.now();
    await client.produce({ topic: name, key: "acc_v", value: { i: 0 } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    broker.faults = {};
    const partition = partitionForKey(new TextEncoder().encode(JSON.stringify("acc_v")), 4);
    expect(await client.partitionOffsets(name, partition)).toEqual({ beginning: 0, end: 1 });
  });
});
