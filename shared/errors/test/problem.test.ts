import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  AppError,
  isAppError,
  PROBLEM_CONTENT_TYPE,
  problemResponse,
  toProblem,
  validationError,
} from "../src/index.ts";

const context = { instance: "/v1/accounts/acc_1", requestId: "req_1" };

describe("toProblem", () => {
  it("renders an AppError with every RFC 9457 member plus code and requestId", () => {
    const { problem } = toProblem(new AppError("not_found", "Account acc_1 does not exist."), context);
    expect(problem).toEqual({
      type: "https://docs.edgebank.dev/problems/not-found",
      title: "Not found",
      status: 404,
      detail: "Account acc_1 does not exist.",
      instance: "/v1/accounts/acc_1",
      code: "not_found",
      requestId: "req_1",
    });
  });

  it("uses the title as detail when none is given", () => {
    expect(toProblem(new AppError("forbidden"), context).problem.detail).toBe("Forbidden");
  });

  it("keeps extensions but never lets them override the standard members", () => {
    const error = new AppError("rate_limited", "Slow down.", {
      extensions: { retryAfter: 3, status: 200, code: "ok" },
      headers: { "retry-after": "3" },
    });
    const { problem, headers } = toProblem(error, context);
    expect(problem.retryAfter).toBe(3);
    expect(problem.status).toBe(429);
    expect(problem.code).toBe("rate_limited");
    expect(headers).toEqual({ "retry-after": "3" });
  });

  it("hides the message and stack of unknown errors", () => {
    const { problem } = toProblem(new TypeError("secret connection string postgres://u:p@db"), context);
    expect(problem.status).toBe(500);
    expect(problem.code).toBe("internal");
    expect(JSON.stringify(problem)).not.toContain("postgres://");
    expect(JSON.stringify(problem)).not.toContain("at ");
  });

  it("treats thrown non-errors as internal", () => {
    expect(toProblem("boom", context).problem.status).toBe(500);
    expect(toProblem(undefined, context).problem.code).toBe("internal");
  });
});

describe("AppError", () => {
  it("derives status and retryability from the code", () => {
    expect(new AppError("conflict").status).toBe(409);
    expect(new AppError("conflict").retryable).toBe(false);
    expect(new AppError("dependency_unavailable").retryable).toBe(true);
    expect(new AppError("rate_limited").retryable).toBe(true);
  });

  it("is recognised by shape across bundles", () => {
    const foreign = Object.assign(new Error("x"), { name: "AppError", code: "not_found" });
    expect(isAppError(foreign)).toBe(true);
    expect(isAppError(Object.assign(new Error("x"), { name: "AppError", code: "nope" }))).toBe(false);
    expect(isAppError(new Error("x"))).toBe(false);
  });
});

describe("validationError", () => {
  it("lists every failed member with a JSON pointer", () => {
    const schema = z.object({ amount: z.string(), party: z.object({ "a/b": z.number() }) });
    const result = schema.safeParse({ amount: 5, party: { "a/b": "x" } });
    expect(result.success).toBe(false);
    if (result.success) return;
    const error = validationError(result.error, "body");
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("The request body is invalid: 2 fields are invalid.");
    expect(error.extensions.errors).toEqual([
      expect.objectContaining({ pointer: "/amount", in: "body", code: "invalid_type" }),
      expect.objectContaining({ pointer: "/party/a~1b", in: "body", code: "invalid_type" }),
    ]);
  });
});

describe("problemResponse", () => {
  it("sets the problem media type, status and no-store", async () => {
    const { problem, headers } = toProblem(
      new AppError("rate_limited", "x", { headers: { "retry-after": "1" } }),
      context,
    );
    const response = problemResponse(problem, headers);
    expect(response.status).toBe(429);
    expect(response.headers.get("content-type")).toBe(PROBLEM_CONTENT_TYPE);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toEqual(problem);
  });
});
