/**
 * What PostgreSQL said about a failed statement: its SQLSTATE and, for a constraint violation,
 * the constraint. Reads through the wrappers drivers and drizzle put around it ("Failed query:
 * …" with the server's error as `cause`); postgres.js names the constraint `constraint_name`,
 * node-postgres and the Neon driver `constraint`.
 */
export function databaseError(error: unknown): { code: string; constraint?: string } | undefined {
  for (let current = error, depth = 0; current !== null && typeof current === "object" && depth < 5; depth++) {
    const fields = current as { code?: unknown; constraint_name?: unknown; constraint?: unknown; cause?: unknown };
    if (typeof fields.code === "string" && /^[0-9A-Z]{5}$/.test(fields.code)) {
      const constraint = fields.constraint_name ?? fields.constraint;
      return { code: fields.code, ...(typeof constraint === "string" ? { constraint } : {}) };
    }
    current = fields.cause;
  }
  return undefined;
}
