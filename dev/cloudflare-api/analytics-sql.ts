/**
 * The subset of the Workers Analytics Engine SQL dialect (ClickHouse's) that edgebank's
 * dashboards and canary use, over data points kept in memory:
 *
 *   SELECT expr [AS alias], … FROM <dataset> [WHERE cond AND …] [GROUP BY expr|alias, …]
 *   [ORDER BY expr|alias [ASC|DESC], …] [LIMIT n] [FORMAT JSON]
 *
 * Columns: index1, blob1…blob20, double1…double20, timestamp, _sample_interval, dataset.
 * Functions: count(), sum, avg, min, max, quantileWeighted(level, x, weight), now(); literals,
 * `INTERVAL 'n' SECOND|MINUTE|HOUR|DAY`, + - * /; comparisons = != <> < <= > >= and IN (…).
 * Anything else is refused with an error naming it, never answered wrongly.
 */

/** One stored data point as Analytics Engine keeps it. */
export interface StoredPoint {
  dataset: string;
  timestamp: number;
  index1: string;
  blobs: string[];
  doubles: number[];
}

type Token = { kind: "ident" | "number" | "string" | "symbol"; text: string };

type Expr =
  | { kind: "literal"; value: string | number }
  | { kind: "column"; name: string }
  | { kind: "call"; name: string; args: Expr[] }
  | { kind: "interval"; ms: number }
  | { kind: "binary"; op: "+" | "-" | "*" | "/"; left: Expr; right: Expr };

type Cond =
  | { kind: "compare"; op: string; left: Expr; right: Expr }
  | { kind: "in"; left: Expr; values: Expr[]; negated: boolean };

interface Query {
  select: Array<{ expr: Expr; name: string }>;
  dataset: string;
  where: Cond[];
  groupBy: Expr[];
  orderBy: Array<{ expr: Expr; descending: boolean }>;
  limit: number | undefined;
}

export class SqlError extends Error {}

const aggregates = new Set(["count", "sum", "avg", "min", "max", "quantileweighted"]);
const units: Record<string, number> = { SECOND: 1_000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s+|([A-Za-z_][A-Za-z0-9_]*)|(\d+(?:\.\d+)?)|'((?:[^'\\]|\\.)*)'|(<=|>=|!=|<>|[(),*/=<>+-])/y;
  let index = 0;
  while (index < text.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    if (!match) throw new SqlError(`unexpected character at ${index}: ${text.slice(index, index + 10)}`);
    index = pattern.lastIndex;
    if (match[1] !== undefined) tokens.push({ kind: "ident", text: match[1] });
    else if (match[2] !== undefined) tokens.push({ kind: "number", text: match[2] });
    else if (match[3] !== undefined) tokens.push({ kind: "string", text: match[3].replace(/\\(.)/g, "$1") });
    else if (match[4] !== undefined) tokens.push({ kind: "symbol", text: match[4] });
  }
  return tokens;
}

class Parser {
  #tokens: Token[];
  #at = 0;
  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#at];
  }
  #keyword(word: string): boolean {
    const token = this.#peek();
    if (token?.kind === "ident" && token.text.toUpperCase() === word) {
      this.#at += 1;
      return true;
    }
    return false;
  }
  #symbol(symbol: string): boolean {
    const token = this.#peek();
    if (token?.kind === "symbol" && token.text === symbol) {
      this.#at += 1;
      return true;
    }
    return false;
  }
  #expect(what: string, ok: boolean): void {
    if (!ok) throw new SqlError(`expected ${what} near "${this.#peek()?.text ?? "end of query"}"`);
  }

  query(): Query {
    this.#expect("SELECT", this.#keyword("SELECT"));
    const select: Query["select"] = [];
    do {
      const expr = this.#expr();
      let name = describe(expr);
      if (this.#keyword("AS")) name = this.#identifier();
      select.push({ expr, name });
    } while (this.#symbol(","));
    this.#expect("FROM", this.#keyword("FROM"));
    const dataset = this.#identifier();
    const where: Cond[] = [];
    if (this.#keyword("WHERE")) {
      do where.push(this.#condition());
      while (this.#keyword("AND"));
    }
    const groupBy: Expr[] = [];
    if (this.#keyword("GROUP")) {
      this.#expect("BY", this.#keyword("BY"));
      do groupBy.push(this.#expr());
      while (this.#symbol(","));
    }
    const orderBy: Query["orderBy"] = [];
    if (this.#keyword("ORDER")) {
      this.#expect("BY", this.#keyword("BY"));
      do {
        const expr = this.#expr();
        const descending = this.#keyword("DESC");
        if (!descending) this.#keyword("ASC");
        orderBy.push({ expr, descending });
      } while (this.#symbol(","));
    }
    let limit: number | undefined;
    if (this.#keyword("LIMIT")) limit = Number(this.#take("number").text);
    if (this.#keyword("FORMAT")) {
      const format = this.#identifier();
      if (format.toUpperCase() !== "JSON") throw new SqlError(`FORMAT ${format} is not supported here (JSON only)`);
    }
    if (this.#peek()) throw new SqlError(`unexpected "${this.#peek()?.text}"`);
    return { select, dataset, where, groupBy, orderBy, limit };
  }

  #take(kind: Token["kind"]): Token {
    const token = this.#peek();
    if (token?.kind !== kind) throw new SqlError(`expected a ${kind} near "${token?.text ?? "end of query"}"`);
    this.#at += 1;
    return token;
  }
  #identifier(): string {
    return this.#take("ident").text;
  }

  #condition(): Cond {
    const left = this.#expr();
    const negated = this.#keyword("NOT");
    if (this.#keyword("IN")) {
      this.#expect("(", this.#symbol("("));
      const values: Expr[] = [];
      do values.push(this.#expr());
      while (this.#symbol(","));
      this.#expect(")", this.#symbol(")"));
      return { kind: "in", left, values, negated };
    }
    if (negated) throw new SqlError("NOT is supported before IN only");
    const token = this.#peek();
    if (token?.kind !== "symbol" || !["=", "!=", "<>", "<", "<=", ">", ">="].includes(token.text)) {
      throw new SqlError(`expected a comparison near "${token?.text ?? "end of query"}"`);
    }
    this.#at += 1;
    return { kind: "compare", op: token.text === "<>" ? "!=" : token.text, left, right: this.#expr() };
  }

  #expr(): Expr {
    let left = this.#term();
    for (;;) {
      if (this.#symbol("+")) left = { kind: "binary", op: "+", left, right: this.#term() };
      else if (this.#symbol("-")) left = { kind: "binary", op: "-", left, right: this.#term() };
      else return left;
    }
  }

  #term(): Expr {
    let left = this.#primary();
    for (;;) {
      if (this.#symbol("*")) left = { kind: "binary", op: "*", left, right: this.#primary() };
      else if (this.#symbol("/")) left = { kind: "binary", op: "/", left, right: this.#primary() };
      else return left;
    }
  }

  #primary(): Expr {
    const token = this.#peek();
    if (!token) throw new SqlError("unexpected end of query");
    if (token.kind === "number") {
      this.#at += 1;
      return { kind: "literal", value: Number(token.text) };
    }
    if (token.kind === "string") {
      this.#at += 1;
      return { kind: "literal", value: token.text };
    }
    if (this.#symbol("(")) {
      const inner = this.#expr();
      this.#expect(")", this.#symbol(")"));
      return inner;
    }
    const name = this.#identifier();
    if (name.toUpperCase() === "INTERVAL") {
      const amount = Number(this.#peek()?.kind === "string" ? this.#take("string").text : this.#take("number").text);
      const unit = this.#identifier().toUpperCase().replace(/S$/, "");
      const scale = units[unit];
      if (scale === undefined || !Number.isFinite(amount)) throw new SqlError(`unsupported INTERVAL unit ${unit}`);
      return { kind: "interval", ms: amount * scale };
    }
    if (this.#symbol("(")) {
      const args: Expr[] = [];
      if (!this.#symbol(")")) {
        do args.push(this.#symbol("*") ? { kind: "literal", value: "*" } : this.#expr());
        while (this.#symbol(","));
        this.#expect(")", this.#symbol(")"));
      }
      const lower = name.toLowerCase();
      if (!aggregates.has(lower) && lower !== "now") throw new SqlError(`function ${name}() is not supported here`);
      return { kind: "call", name: lower, args };
    }
    return { kind: "column", name };
  }
}

function describe(expr: Expr): string {
  switch (expr.kind) {
    case "literal":
      return String(expr.value);
    case "column":
      return expr.name;
    case "call":
      return `${expr.name}(${expr.args.map(describe).join(", ")})`;
    case "interval":
      return `INTERVAL ${expr.ms} ms`;
    case "binary":
      return `${describe(expr.left)} ${expr.op} ${describe(expr.right)}`;
  }
}

type Row = Record<string, string | number>;

function arithmetic(op: "+" | "-" | "*" | "/", left: number, right: number): number {
  switch (op) {
    case "+":
      return left + right;
    case "-":
      return left - right;
    case "*":
      return left * right;
    case "/":
      return left / right;
  }
}

function rowOf(point: StoredPoint): Row {
  const row: Row = {
    dataset: point.dataset,
    timestamp: point.timestamp,
    index1: point.index1,
    _sample_interval: 1,
  };
  for (let i = 1; i <= 20; i++) {
    row[`blob${i}`] = point.blobs[i - 1] ?? "";
    row[`double${i}`] = point.doubles[i - 1] ?? 0;
  }
  return row;
}

const isAggregate = (expr: Expr): boolean =>
  (expr.kind === "call" && aggregates.has(expr.name)) ||
  (expr.kind === "binary" && (isAggregate(expr.left) || isAggregate(expr.right)));

function evaluate(expr: Expr, row: Row, aliases: Map<string, Expr>): string | number {
  switch (expr.kind) {
    case "literal":
      return expr.value;
    case "interval":
      return expr.ms;
    case "column": {
      if (expr.name in row) return row[expr.name] as string | number;
      const aliased = aliases.get(expr.name);
      if (aliased) return evaluate(aliased, row, new Map());
      throw new SqlError(`unknown column ${expr.name}`);
    }
    case "binary":
      return arithmetic(expr.op, Number(evaluate(expr.left, row, aliases)), Number(evaluate(expr.right, row, aliases)));
    case "call":
      if (expr.name === "now") return Date.now();
      throw new SqlError(`${expr.name}() needs GROUP BY or a whole-table aggregate`);
  }
}

function aggregate(expr: Expr, rows: Row[], aliases: Map<string, Expr>): string | number {
  if (expr.kind === "binary") {
    return arithmetic(
      expr.op,
      Number(aggregate(expr.left, rows, aliases)),
      Number(aggregate(expr.right, rows, aliases)),
    );
  }
  if (expr.kind !== "call" || !aggregates.has(expr.name)) {
    return rows[0] ? evaluate(expr, rows[0], aliases) : "";
  }
  const values = (arg: Expr | undefined) => rows.map((row) => Number(arg ? evaluate(arg, row, aliases) : 0));
  switch (expr.name) {
    case "count":
      return rows.length;
    case "sum":
      return values(expr.args[0]).reduce((a, b) => a + b, 0);
    case "avg": {
      const all = values(expr.args[0]);
      return all.length ? all.reduce((a, b) => a + b, 0) / all.length : Number.NaN;
    }
    case "min":
      return Math.min(...values(expr.args[0]));
    case "max":
      return Math.max(...values(expr.args[0]));
    default: {
      // quantileWeighted(level, x, weight): the smallest x whose cumulative weight reaches level.
      const [levelExpr, valueExpr, weightExpr] = expr.args;
      if (!levelExpr || !valueExpr || !weightExpr) throw new SqlError("quantileWeighted(level, value, weight)");
      const level = Number(evaluate(levelExpr, {}, aliases));
      const pairs = rows
        .map((row) => [Number(evaluate(valueExpr, row, aliases)), Number(evaluate(weightExpr, row, aliases))] as const)
        .sort((a, b) => a[0] - b[0]);
      const total = pairs.reduce((sum, [, weight]) => sum + weight, 0);
      let cumulative = 0;
      for (const [value, weight] of pairs) {
        cumulative += weight;
        if (cumulative >= level * total) return value;
      }
      return Number.NaN;
    }
  }
}

function compare(op: string, left: string | number, right: string | number): boolean {
  const [a, b] = typeof left === "number" || typeof right === "number" ? [Number(left), Number(right)] : [left, right];
  switch (op) {
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    default:
      return a >= b;
  }
}

function typeOf(expr: Expr): string {
  if (expr.kind === "call") return expr.name === "count" ? "UInt64" : "Float64";
  if (expr.kind === "column") {
    if (expr.name.startsWith("double") || expr.name === "_sample_interval") return "Float64";
    if (expr.name === "timestamp") return "DateTime";
    return "String";
  }
  if (expr.kind === "literal") return typeof expr.value === "number" ? "Float64" : "String";
  return "Float64";
}

/** `2026-12-01 22:01:15`, as ClickHouse writes a DateTime. */
const dateTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

/** Runs a query over the stored points: the ClickHouse JSON format Analytics Engine answers with. */
export function runQuery(text: string, points: StoredPoint[]) {
  const query = new Parser(tokenize(text.trim().replace(/;$/, ""))).query();
  const aliases = new Map(query.select.map((item) => [item.name, item.expr]));
  const resolve = (expr: Expr): Expr =>
    expr.kind === "column" && aliases.has(expr.name) && !/^(blob|double|index)\d+$|^timestamp$/.test(expr.name)
      ? (aliases.get(expr.name) ?? expr)
      : expr;
  const rows = points
    .filter((point) => point.dataset === query.dataset)
    .map(rowOf)
    .filter((row) =>
      query.where.every((cond) =>
        cond.kind === "compare"
          ? compare(cond.op, evaluate(cond.left, row, aliases), evaluate(cond.right, row, aliases))
          : cond.values.some((value) => evaluate(value, row, aliases) === evaluate(cond.left, row, aliases)) !==
            cond.negated,
      ),
    );
  const grouped = query.groupBy.length > 0 || query.select.some((item) => isAggregate(item.expr));
  const groups = new Map<string, Row[]>();
  if (grouped) {
    for (const row of rows) {
      const key = JSON.stringify(query.groupBy.map((expr) => evaluate(resolve(expr), row, aliases)));
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    if (query.groupBy.length === 0 && groups.size === 0) groups.set("[]", []);
  }
  let data: Row[] = grouped
    ? [...groups.values()].map((group) =>
        Object.fromEntries(query.select.map((item) => [item.name, aggregate(item.expr, group, aliases)])),
      )
    : rows.map((row) => Object.fromEntries(query.select.map((item) => [item.name, evaluate(item.expr, row, aliases)])));
  for (const { expr, descending } of [...query.orderBy].reverse()) {
    const key =
      expr.kind === "column" && query.select.some((item) => item.name === expr.name) ? expr.name : describe(expr);
    data = [...data].sort((a, b) => {
      const [x, y] = [a[key] ?? "", b[key] ?? ""];
      const order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
  }
  const total = data.length;
  if (query.limit !== undefined) data = data.slice(0, query.limit);
  const meta = query.select.map((item) => ({ name: item.name, type: typeOf(item.expr) }));
  // ClickHouse's JSON output quotes 64-bit integers and writes DateTime as text.
  const rendered = data.map((row) =>
    Object.fromEntries(
      meta.map(({ name, type }) => {
        const value = row[name] ?? "";
        if (type === "UInt64") return [name, String(value)];
        if (type === "DateTime") return [name, dateTime(Number(value))];
        return [name, value];
      }),
    ),
  );
  return { meta, data: rendered, rows: rendered.length, rows_before_limit_at_least: total };
}
