/** Log levels in increasing severity. */
export const logLevels = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof logLevels)[number];

/** Fields every log line of a request carries. */
export interface LogContext {
  service: string;
  /** The service's release (SERVICE_VERSION). */
  version: string;
  /** The Workers version id serving the request (version-metadata binding). */
  versionId?: string;
  requestId?: string;
  traceId?: string;
  /** Who the request acts for (a user or a machine client), once authenticated. */
  principal?: string;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * A logger that writes one JSON object per line (Workers Logs and Logpush index the fields).
 * Lines below `minLevel` are dropped. Bigints are written as strings, never lost.
 */
export function createLogger(context: LogContext, minLevel: LogLevel = "info", sink = console.log): Logger {
  const threshold = logLevels.indexOf(minLevel);
  const write = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (logLevels.indexOf(level) < threshold) return;
    const line = { time: new Date().toISOString(), level, msg, ...context, ...fields };
    sink(JSON.stringify(line, (_, value: unknown) => (typeof value === "bigint" ? value.toString() : value)));
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
  };
}

/** What may be logged of a thrown value: its name, message and stack stay in the logs only. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    // Drivers and ORMs wrap the database's own error (drizzle: "Failed query: …"): keep its words.
    const cause = error.cause instanceof Error ? { errorCause: error.cause.message } : {};
    return { errorName: error.name, errorMessage: error.message, ...cause, stack: error.stack };
  }
  return { errorName: typeof error, errorMessage: String(error) };
}
