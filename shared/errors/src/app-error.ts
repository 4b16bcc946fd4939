import { type ErrorCode, errorCodes } from "./codes.ts";

/** Extra members of a problem document (RFC 9457 extension members), e.g. `errors` or `retryAfter`. */
export type ProblemExtensions = Record<string, unknown>;

export interface AppErrorOptions {
  /** Extension members rendered into the problem document. */
  extensions?: ProblemExtensions;
  /** Response headers to add, e.g. `Retry-After`. */
  headers?: Record<string, string>;
  /** The underlying error; logged, never rendered. */
  cause?: unknown;
}

/**
 * A domain or transport failure with a stable code. Thrown anywhere in a worker and rendered
 * once, by the error handler, as an RFC 9457 problem document.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extensions: ProblemExtensions;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, detail?: string, options: AppErrorOptions = {}) {
    super(detail ?? errorCodes[code].title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = errorCodes[code].status;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  /** Whether the caller may retry the same request later and expect a different outcome. */
  get retryable(): boolean {
    return this.status === 429 || this.status === 503 || this.status === 504;
  }
}

/** Narrowing helper that also works across bundles (checks the shape, not only the prototype). */
export function isAppError(error: unknown): error is AppError {
  if (error instanceof AppError) return true;
  if (!(error instanceof Error) || error.name !== "AppError") return false;
  const code: unknown = (error as Partial<AppError>).code;
  return typeof code === "string" && Object.hasOwn(errorCodes, code);
}
