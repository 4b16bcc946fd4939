import { describe, expect, it } from "vitest";
import { continueTrace, formatTraceparent, parseTraceparent } from "../src/index.ts";

const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("traceparent", () => {
  it("parses the W3C example", () => {
    expect(parseTraceparent(valid)).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      parentId: "00f067aa0ba902b7",
      flags: "01",
    });
  });

  it.each([
    ["missing", undefined],
    ["version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["zero trace id", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`],
    ["zero parent id", `00-4bf92f3577b34da6a3ce929d0e0e4736-${"0".repeat(16)}-01`],
    ["short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"],
    ["extra field on version 00", `${valid}-extra`],
    ["garbage", "hello"],
  ])("ignores an invalid header (%s)", (_, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it("accepts extra fields from a future version", () => {
    expect(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")?.flags).toBe("01");
  });

  it("continues a trace with a new span, or starts a sampled one", () => {
    const continued = continueTrace(valid);
    expect(continued.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(continued.parentSpanId).toBe("00f067aa0ba902b7");
    expect(continued.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(formatTraceparent(continued)).toBe(`00-${continued.traceId}-${continued.spanId}-01`);
    const fresh = continueTrace("nonsense");
    expect(fresh.parentSpanId).toBeUndefined();
    expect(fresh.flags).toBe("01");
  });
});
