import { recording, withSpan } from "@edgebank/telemetry";

/**
 * Spans for the statements and transactions of a postgres.js client (OpenTelemetry database
 * conventions: `SELECT accounts.accounts`, db.system.name, db.query.text). drizzle sends
 * parameterised SQL only, so the text carries no values. Code outside a kept trace pays one
 * lookup per call.
 */

type Sql = {
  unsafe: (...args: unknown[]) => PromiseLike<unknown> & { values(): unknown };
  begin?: (...args: unknown[]) => Promise<unknown>;
  savepoint?: (...args: unknown[]) => Promise<unknown>;
};

const identifier = String.raw`(?:"[^"]+"|[A-Za-z_][\w$]*)`;
const tablePattern = new RegExp(String.raw`\b(?:from|into|update|join)\s+(${identifier}(?:\.${identifier})?)`, "i");

/**
 * `SELECT transfers.outbox`: the operation and the first table a statement names. A statement
 * with a common table expression is named by the first write it makes (`with e as (insert into
 * ledger.entries …) insert into ledger.postings …` is `INSERT ledger.entries`), else it is a SELECT.
 */
export function statementName(text: string): string {
  let operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "QUERY";
  if (operation === "WITH") operation = /\b(insert|update|delete)\b/i.exec(text)?.[1]?.toUpperCase() ?? "SELECT";
  const table = tablePattern.exec(text)?.[1]?.replaceAll('"', "");
  return table ? `${operation} ${table}` : operation;
}

/** A pending postgres.js query whose execution (it starts when awaited) is a span. */
function tracedQuery<Q extends PromiseLike<unknown> & { values(): unknown }>(query: Q, text: string): Q {
  const proxy: Q = new Proxy(query, {
    get(target, property) {
      if (property === "values") {
        return () => {
          target.values();
          return proxy;
        };
      }
      if (property === "then") {
        return (onFulfilled?: (value: unknown) => unknown, onRejected?: (reason: unknown) => unknown) =>
          withSpan(
            statementName(text),
            { kind: "client", attributes: { "db.system.name": "postgresql", "db.query.text": text.slice(0, 2_000) } },
            () => Promise.resolve(target),
          ).then(onFulfilled, onRejected);
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return proxy;
}

/** The client (or a transaction's) with every statement and transaction traced. */
export function traceStatements<S extends object>(sql: S): S {
  return new Proxy(sql, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      const method = value.bind(target) as (...args: unknown[]) => unknown;
      if (property === "unsafe") {
        return (...args: unknown[]) => {
          const query = method(...args) as ReturnType<Sql["unsafe"]>;
          return recording() ? tracedQuery(query, String(args[0])) : query;
        };
      }
      if (property === "begin" || property === "savepoint") {
        return (...args: unknown[]) => {
          const callback = args.at(-1) as (tx: object) => unknown;
          const rest = args.slice(0, -1);
          return withSpan(property === "begin" ? "db transaction" : "db savepoint", { kind: "internal" }, () =>
            Promise.resolve(method(...rest, (tx: object) => callback(traceStatements(tx)))),
          );
        };
      }
      return method;
    },
  });
}
