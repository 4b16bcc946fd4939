import { afterEach, describe, expect, it, vi } from "vitest";
import { batchingExporter, type Resource, type SpanRecord, type TraceExporter } from "../src/index.ts";

const transfers: Resource = { service: "transfers", version: "1.2.3", environment: "test", versionId: "v-1" };

function span(name: string): SpanRecord {
  return {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    name,
    kind: "internal",
    startMs: 1,
    endMs: 2,
    attributes: {},
    events: [],
    status: { code: 0 },
  };
}

/** An exporter that keeps each request it would send. */
function collecting() {
  const requests: Array<{ service: string; names: string[] }> = [];
  const inner: TraceExporter = {
    async export(resource, spans) {
      requests.push({ service: resource.service, names: spans.map((s) => s.name) });
    },
  };
  return { inner, requests };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("batchingExporter", () => {
  it("sends the spans of invocations that end close together as one request, once the first one's delay is up", async () => {
    const { inner, requests } = collecting();
    const exporter = batchingExporter(inner, { maxDelayMs: 30, maxSpans: 100 });
    const first = exporter.export(transfers, [span("a"), span("b")]);
    // Later invocations hand their spans over and are done at once.
    await exporter.export(transfers, [span("c")]);
    await exporter.export(transfers, [span("d")]);
    expect(requests).toEqual([]);
    await first;
    expect(requests).toEqual([{ service: "transfers", names: ["a", "b", "c", "d"] }]);
    // The next span starts a batch of its own.
    await exporter.export(transfers, [span("e")]);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.names).toEqual(["e"]);
  });

  it("sends at once when enough spans are gathered, and keeps each resource's spans apart", async () => {
    const { inner, requests } = collecting();
    const exporter = batchingExporter(inner, { maxDelayMs: 50, maxSpans: 3 });
    const accounts: Resource = { ...transfers, service: "accounts" };
    const first = exporter.export(transfers, [span("t1")]);
    await exporter.export(accounts, [span("a1")]);
    await exporter.export(transfers, [span("t2")]);
    expect(requests).toEqual([
      { service: "transfers", names: ["t1", "t2"] },
      { service: "accounts", names: ["a1"] },
    ]);
    // The first invocation's delay ends with nothing left to send.
    await first;
    expect(requests).toHaveLength(2);
  });

  it("a batch whose keeper vanished with its timer (a cancelled invocation) is taken over by the next one", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-12-02T10:00:00Z") });
    const { inner, requests } = collecting();
    const exporter = batchingExporter(inner, { maxDelayMs: 200, maxSpans: 100 });
    void exporter.export(transfers, [span("lost keeper")]);
    vi.clearAllTimers(); // the keeping invocation was aborted: its timer never fires
    await vi.advanceTimersByTimeAsync(150);
    // Its export is not overdue yet: the next invocation joins the batch.
    await exporter.export(transfers, [span("joins")]);
    vi.setSystemTime(Date.now() + 300);
    const next = exporter.export(transfers, [span("takes over")]);
    await vi.advanceTimersByTimeAsync(200);
    await next;
    expect(requests).toEqual([{ service: "transfers", names: ["lost keeper", "joins", "takes over"] }]);
  });

  it("sends nothing for an invocation without spans", async () => {
    const { inner, requests } = collecting();
    await batchingExporter(inner, { maxDelayMs: 1 }).export(transfers, []);
    expect(requests).toEqual([]);
  });
});
