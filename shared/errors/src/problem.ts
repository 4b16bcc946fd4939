import { isAppError } from "./app-error.ts";
import { type ErrorCode, errorCodes, problemType } from "./codes.ts";

/** The media type of RFC 9457 problem documents. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** An RFC 9457 problem document as every edgebank service renders it. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  requestId: string;
  [extension: string]: unknown;
}

export interface ProblemContext {
  /** The request path; rendered as `instance`. */
  instance: string;
  requestId: string;
}

/** Members an extension may never override. */
const reserved = new Set(["type", "title", "status", "detail", "instance", "code", "requestId"]);

/**
 * Turns any thrown value into a problem document and the headers it needs. Unknown errors
 * become a generic 500 whose detail says nothing about the internals (no message, no stack).
 */
export function toProblem(
  error: unknown,
  context: ProblemContext,
): { problem: ProblemDocument; headers: Record<string, string> } {
  if (!isAppError(error)) {
    return { problem: build("internal", "An unexpected error occurred.", context, {}), headers: {} };
  }
  return { problem: build(error.code, error.message, context, error.extensions), headers: error.headers };
}

function build(
  code: ErrorCode,
  detail: string,
  context: ProblemContext,
  extensions: Record<string, unknown>,
): ProblemDocument {
  const safeExtensions = Object.fromEntries(Object.entries(extensions).filter(([key]) => !reserved.has(key)));
  return {
    type: problemType(code),
    title: errorCodes[code].title,
    status: errorCodes[code].status,
    detail,
    instance: context.instance,
    code,
    requestId: context.requestId,
    ...safeExtensions,
  };
}

/** A `Response` carrying a problem document, with the right media type and no caching. */
export function problemResponse(problem: ProblemDocument, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { ...headers, "content-type": PROBLEM_CONTENT_TYPE, "cache-control": "no-store" },
  });
}
