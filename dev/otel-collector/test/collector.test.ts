import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { otlpHttpExporter, type SpanRecord } from "../../../shared/telemetry/src/index.ts";
import { type DevCollector, startDevCollector } from "../server.ts";
import { flattenTrace, renderTree } from "../tree.ts";

let collector: DevCollector;

beforeAll(async () => {
  collector = await startDevCollector();
});
afterAll(() => collector.close());

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const span = (spanId: string, name: string, startMs: number, endMs: number, parentSpanId?: string): SpanRecord => ({
  traceId,
  spanId,
  ...(parentSpanId ? { parentSpanId } : {}),
  name,
  kind: parentSpanId ? "client" : "server",
  startMs,
  endMs,
  attributes: {},
  status: { code: 0 },
  events: [],
});

describe("the development OTLP collector", () => {
  it("receives what edgebank's OTLP/HTTP exporter sends and answers a trace as OTLP JSON", async () => {
    const exporter = otlpHttpExporter(collector.url);
    await exporter.export({ service: "gateway", version: "dev", environment: "development" }, [
      span("00f067aa0ba902b7", "POST /v1/transfers", 1_000, 1_120),
    ]);
    await exporter.export({ service: "transfers", version: "dev", environment: "development" }, [
      span("00f067aa0ba902b8", "POST /v1/transfers", 1_010, 1_100, "00f067aa0ba902b7"),
      span("00f067aa0ba902b9", "accounts POST", 1_020, 1_060, "00f067aa0ba902b8"),
    ]);
    const response = await fetch(`${collector.url}/traces/${traceId}`);
    expect(response.status).toBe(200);
    const trace = (await response.json()) as Parameters<typeof flattenTrace>[0];
    expect(trace.resourceSpans).toHaveLength(2);
    expect(flattenTrace(trace).map((s) => [s.service, s.name, s.endMs - s.startMs])).toEqual([
      ["gateway", "POST /v1/transfers", 120],
      ["transfers", "POST /v1/transfers", 90],
      ["transfers", "accounts POST", 40],
    ]);
    expect(renderTree(trace).split("\n")).toEqual([
      "     +0 ms    120 ms  gateway: POST /v1/transfers [server]",
      "    +10 ms     90 ms    transfers: POST /v1/transfers [client]",
      "    +20 ms     40 ms      transfers: accounts POST [client]",
    ]);
    const listed = (await (await fetch(`${collector.url}/traces`)).json()) as { traces: Array<{ traceId: string }> };
    expect(listed.traces.map((t) => t.traceId)).toContain(traceId);
  });

  it("answers 404 for an unknown trace and 415 for protobuf bodies", async () => {
    expect((await fetch(`${collector.url}/traces/${"a".repeat(32)}`)).status).toBe(404);
    const protobuf = await fetch(`${collector.url}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: new Uint8Array([0x0a, 0x00]),
    });
    expect(protobuf.status).toBe(415);
  });
});
