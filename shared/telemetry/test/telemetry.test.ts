import { describe, expect, it } from "vitest";
import {
  currentTraceparent,
  encodeTraces,
  newSpanId,
  newTraceId,
  parseOtlpHeaders,
  type Resource,
  type SpanRecord,
  sampledByRatio,
  type Telemetry,
  traceInvocation,
  withSpan,
} from "../src/index.ts";

const resource: Resource = { service: "transfers", version: "1.2.3", environment: "test", versionId: "v-1" };

/** A telemetry setup whose exporter keeps what it is sent, and the waitUntil promises to await. */
function recording(sampleRatio = 1) {
  const exported: SpanRecord[][] = [];
  const waiting: Array<Promise<unknown>> = [];
  const telemetry: Telemetry = {
    resource,
    sampleRatio,
    exporter: {
      async export(_resource, spans) {
        exported.push(spans);
      },
    },
  };
  const settle = async () => {
    while (waiting.length > 0) await Promise.all(waiting.splice(0));
  };
  return { telemetry, exported, waitUntil: (p: Promise<unknown>) => void waiting.push(p), settle };
}

describe("traceInvocation and withSpan", () => {
  it("nest spans across awaits, continue the caller's trace and export them once the root ends", async () => {
    const { telemetry, exported, waitUntil, settle } = recording();
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let sent = "";
    await traceInvocation({ telemetry, name: "POST /v1/transfers", kind: "server", parent, waitUntil }, async () => {
      await withSpan("accounts POST", { kind: "client" }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        sent = currentTraceparent() ?? "";
      });
    });
    await settle();
    const spans = exported.flat();
    expect(spans.map((s) => s.name)).toEqual(["accounts POST", "POST /v1/transfers"]);
    const [client, server] = spans as [SpanRecord, SpanRecord];
    expect(server).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentSpanId: "00f067aa0ba902b7" });
    expect(client).toMatchObject({ traceId: server.traceId, parentSpanId: server.spanId, kind: "client" });
    expect(sent).toBe(`00-${server.traceId}-${client.spanId}-01`);
    expect(client.startMs).toBeGreaterThanOrEqual(server.startMs);
    expect(client.endMs).toBeLessThanOrEqual(server.endMs);
  });

  it("export spans that end after the invocation (work left to waitUntil) in a later request", async () => {
    const { telemetry, exported, waitUntil, settle } = recording();
    let late: Promise<void> = Promise.resolve();
    await traceInvocation({ telemetry, name: "saga", kind: "server", parent: undefined, waitUntil }, async () => {
      late = withSpan("outbox relay", {}, () => new Promise((resolve) => setTimeout(resolve, 10)));
    });
    await late;
    await settle();
    expect(exported.map((batch) => batch.map((s) => s.name))).toEqual([["saga"], ["outbox relay"]]);
  });

  it("sample new traces by ratio, respect the caller's decision, and always keep failures", async () => {
    const { telemetry, exported, waitUntil, settle } = recording(0);
    await traceInvocation({ telemetry, name: "quiet", kind: "server", parent: undefined, waitUntil }, async () => {
      expect(currentTraceparent()).toMatch(/-00$/);
    });
    await traceInvocation(
      {
        telemetry,
        name: "sampled upstream",
        kind: "server",
        parent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01`,
        waitUntil,
      },
      async () => {},
    );
    await expect(
      traceInvocation({ telemetry, name: "failing", kind: "server", parent: undefined, waitUntil }, async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await settle();
    const names = exported.flat().map((s) => s.name);
    expect(names).toEqual(["sampled upstream", "failing"]);
    const failing = exported.flat().find((s) => s.name === "failing");
    expect(failing?.status).toEqual({ code: 2, message: "boom" });
    expect(failing?.events[0]?.attributes).toEqual({ "exception.type": "Error", "exception.message": "boom" });
  });

  it("record only the failures of a trace sampled out, with their exception", async () => {
    const { telemetry, exported, waitUntil, settle } = recording(0);
    await expect(
      traceInvocation({ telemetry, name: "request", kind: "server", parent: undefined, waitUntil }, async () => {
        await withSpan("fine", {}, async (span) => expect(span).toBeUndefined());
        await withSpan("broken", { kind: "client" }, async () => {
          throw new Error("db down");
        });
      }),
    ).rejects.toThrow("db down");
    await settle();
    const spans = exported.flat();
    expect(spans.map((s) => s.name)).toEqual(["broken", "request"]);
    expect(spans[0]).toMatchObject({
      kind: "client",
      status: { code: 2, message: "db down" },
      parentSpanId: spans[1]?.spanId,
    });
  });

  it("leave nothing to waitUntil for a trace sampled out that did not fail", async () => {
    const { telemetry, exported, settle } = recording(0);
    const handed: Array<Promise<unknown>> = [];
    await traceInvocation(
      { telemetry, name: "quiet", kind: "server", parent: undefined, waitUntil: (p) => void handed.push(p) },
      async () => {
        await withSpan("db", {}, async () => "fine");
        expect(currentTraceparent()).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      },
    );
    await settle();
    expect(handed).toEqual([]);
    expect(exported).toEqual([]);
  });

  it("run untraced, and record nothing, without an exporter", async () => {
    const telemetry: Telemetry = { resource, exporter: undefined, sampleRatio: 1 };
    const result = await traceInvocation(
      { telemetry, name: "x", kind: "server", parent: undefined, waitUntil: () => {} },
      async (span) => {
        expect(span).toBeUndefined();
        return withSpan("y", {}, async (child) => child);
      },
    );
    expect(result).toBeUndefined();
    expect(currentTraceparent()).toBeUndefined();
  });

  it("make well-formed, distinct ids, also across refills of the random pool", () => {
    const traceIds = new Set(Array.from({ length: 1_000 }, newTraceId));
    const spanIds = new Set(Array.from({ length: 1_000 }, newSpanId));
    expect(traceIds.size).toBe(1_000);
    expect(spanIds.size).toBe(1_000);
    for (const id of traceIds) expect(id).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
    for (const id of spanIds) expect(id).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
    // Random: each hex digit appears in roughly its share of places.
    const digits = [...traceIds].join("");
    for (const digit of "0123456789abcdef") {
      const share = digits.split(digit).length - 1;
      expect(share / digits.length).toBeGreaterThan(1 / 16 - 0.01);
      expect(share / digits.length).toBeLessThan(1 / 16 + 0.01);
    }
  });

  it("sample by the trace id's random bits, so every service decides alike", () => {
    expect(sampledByRatio(`${"0".repeat(18)}${"0".repeat(14)}`, 0.1)).toBe(true);
    expect(sampledByRatio(`${"0".repeat(18)}${"f".repeat(14)}`, 0.1)).toBe(false);
    expect(sampledByRatio(`${"0".repeat(18)}${"f".repeat(14)}`, 1)).toBe(true);
  });
});

describe("OTLP/JSON", () => {
  it("encodes resource, ids as hex, times in nanoseconds, kinds, attributes, status and events", () => {
    const body = encodeTraces(resource, [
      {
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        spanId: "00f067aa0ba902b7",
        name: "SELECT",
        kind: "client",
        startMs: 1_700_000_000_000,
        endMs: 1_700_000_000_012,
        attributes: { "db.system.name": "postgresql", rows: 3, ratio: 0.5, cached: false, skipped: undefined },
        status: { code: 0 },
        events: [],
      },
    ]);
    const [resourceSpans] = body.resourceSpans;
    expect(resourceSpans?.resource.attributes).toContainEqual({
      key: "service.name",
      value: { stringValue: "transfers" },
    });
    expect(resourceSpans?.resource.attributes).toContainEqual({ key: "faas.version", value: { stringValue: "v-1" } });
    expect(resourceSpans?.scopeSpans[0]?.spans[0]).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      name: "SELECT",
      kind: 3,
      startTimeUnixNano: "1700000000000000000",
      endTimeUnixNano: "1700000000012000000",
      attributes: [
        { key: "db.system.name", value: { stringValue: "postgresql" } },
        { key: "rows", value: { intValue: "3" } },
        { key: "ratio", value: { doubleValue: 0.5 } },
        { key: "cached", value: { boolValue: false } },
      ],
      events: [],
      status: { code: 0 },
    });
  });

  it("reads OTEL_EXPORTER_OTLP_HEADERS", () => {
    expect(parseOtlpHeaders("x-api-key=abc%3D, x-team = core")).toEqual({ "x-api-key": "abc=", "x-team": "core" });
    expect(parseOtlpHeaders(undefined)).toEqual({});
  });
});
