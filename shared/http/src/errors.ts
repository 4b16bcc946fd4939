import { AppError, type ErrorCode, problemResponse, toProblem, validationError } from "@edgebank/errors";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import type { AppEnv } from "./context.ts";
import { describeError } from "./logger.ts";
import { reportError } from "./sentry.ts";
import { waitUntilOf } from "./telemetry.ts";

const codeByStatus: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "unprocessable",
  429: "rate_limited",
  503: "dependency_unavailable",
  504: "dependency_timeout",
};

/** Maps Hono's own HTTPExceptions (body limit, malformed JSON in a validator…) onto AppErrors. */
function fromHttpException(error: HTTPException): AppError {
  if (error.status === 400 && /json/i.test(error.message)) {
    return new AppError("malformed_json", "The request body is not valid JSON.");
  }
  const code = codeByStatus[error.status] ?? "internal";
  return new AppError(code, code === "internal" ? undefined : error.message || undefined);
}

/** The one error handler of every app: any thrown value becomes an RFC 9457 problem response. */
export function handleError(error: unknown, c: Context<AppEnv>): Response {
  const appError = error instanceof HTTPException ? fromHttpException(error) : error;
  const requestId = c.get("requestId") ?? "";
  const { problem, headers } = toProblem(appError, { instance: c.req.path, requestId });
  if (problem.code === "internal") {
    c.get("log")?.error("request failed", { status: problem.status, code: problem.code, ...describeError(error) });
    reportError(
      c.env,
      error,
      {
        service: c.get("service") ?? "unknown",
        requestId,
        traceId: c.get("trace")?.traceId,
        principal: (c.var as { principal?: { subject?: string } }).principal?.subject,
      },
      waitUntilOf(c),
    );
  } else if (problem.status >= 500) {
    // An expected operational state (dependency down, not ready): no stack, not an error.
    c.get("log")?.warn("request refused", { status: problem.status, code: problem.code, detail: problem.detail });
  }
  const response = problemResponse(problem, { ...headers, "x-request-id": requestId });
  // A client that accepts JSON and not problem documents (OAuth libraries: RFC 6749 §5.2
  // errors are application/json) gets the same document labelled as plain JSON.
  if (acceptsOnlyPlainJson(c.req.header("accept"))) response.headers.set("content-type", "application/json");
  return response;
}

/** Whether an Accept header asks for application/json and admits neither problem+json nor a wildcard. */
export function acceptsOnlyPlainJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = accept.split(",").map((range) => range.split(";")[0]?.trim().toLowerCase() ?? "");
  return (
    ranges.includes("application/json") &&
    !ranges.some((range) => range === "application/problem+json" || range === "*/*" || range === "application/*")
  );
}

/** The not-found handler: a 404 problem naming the method and path that matched nothing. */
export function handleNotFound(c: Context<AppEnv>): Response {
  return handleError(new AppError("not_found", `No route matches ${c.req.method} ${c.req.path}.`), c);
}

/** Default hook of OpenAPIHono: zod failures of params, query, headers or body go through the same renderer. */
export function validationHook(result: { success: boolean; error?: ZodError; target: string }): void {
  if (!result.success && result.error) {
    const location = result.target === "json" || result.target === "form" ? "body" : result.target;
    throw validationError(result.error, location);
  }
}
