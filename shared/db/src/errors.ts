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

/**
 * SQLSTATEs of a database that is not there right now, not of a statement that is wrong:
 * connection exceptions (class 08), the server shutting down or starting (57P01–57P03), too
 * many connections (53300), and a serialization failure or deadlock (40001, 40P01: try again).
 */
const unavailableStates = /^(08...|57P0[1-3]|53300|40001|40P01)$/;
/**
 * What the drivers and the runtime say when the connection itself broke or could not be made
 * (postgres.js, node-postgres, Neon, workerd's sockets: "proxy request failed, cannot connect to
 * the specified address").
 */
const brokenConnection =
  /^(CONNECTION_CLOSED|CONNECTION_ENDED|CONNECTION_DESTROYED|CONNECT_TIMEOUT|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT)$|Connection terminated|connection (?:closed|ended|lost|reset)|cannot connect|socket (?:closed|hang up)|Network connection lost/i;

/**
 * Whether an error says the database could not be reached or dropped the connection (or asked
 * for the statement again), rather than that the statement or its data is wrong: worth trying
 * again later, never a reason to give up on the work that met it.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const state = databaseError(error)?.code;
  if (state !== undefined && unavailableStates.test(state)) return true;
  for (let current = error, depth = 0; current !== null && typeof current === "object" && depth < 5; depth++) {
    const fields = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof fields.code === "string" && brokenConnection.test(fields.code)) return true;
    if (typeof fields.message === "string" && brokenConnection.test(fields.message)) return true;
    current = fields.cause;
  }
  return false;
}
