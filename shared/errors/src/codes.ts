/**
 * The stable error codes of the platform and how each is rendered.
 *
 * A code never changes meaning once published: clients branch on `code`, not on `title` or
 * `detail`. The problem `type` URI is derived from the code so one table drives every service.
 */
export const errorCodes = {
  bad_request: { status: 400, title: "Bad request" },
  malformed_json: { status: 400, title: "Malformed JSON body" },
  validation_failed: { status: 400, title: "Request validation failed" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unauthorized: { status: 401, title: "Unauthorized" },
  forbidden: { status: 403, title: "Forbidden" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  /** A repeat of an Idempotency-Key whose first request has no final answer yet: retry later. */
  idempotency_in_progress: { status: 409, title: "Request still in progress" },
  unprocessable: { status: 422, title: "Unprocessable request" },
  /** A WebSocket endpoint called without the upgrade. */
  upgrade_required: { status: 426, title: "Upgrade required" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Internal server error" },
  not_ready: { status: 503, title: "Service not ready" },
  dependency_unavailable: { status: 503, title: "Dependency unavailable" },
  dependency_timeout: { status: 504, title: "Dependency timed out" },
} as const satisfies Record<string, { status: number; title: string }>;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof errorCodes;

/** Base URI of the problem `type` of every code; the page documents each code. */
export const PROBLEM_TYPE_BASE = "https://docs.edgebank.dev/problems/";

/** The problem `type` URI of a code. */
export function problemType(code: ErrorCode): string {
  return `${PROBLEM_TYPE_BASE}${code.replaceAll("_", "-")}`;
}
