/**
 * What a deploy may apply before the new code is live. During a rollout the stable version and
 * the new one run side by side on the same database, so a migration must leave the schema
 * usable by both: it may add, never take away or tighten. Anything else is the contract step
 * of an expand → deploy → backfill → contract change (docs/migrations.md), marked as such in
 * the migration, and allowed only once its expand step has already been deployed.
 */

/** A statement a running version may not survive. */
export interface Refusal {
  rule: "drop" | "rename" | "not_null_without_default" | "set_not_null" | "type_change" | "truncate";
  /** The statement, whitespace collapsed, at most 200 characters. */
  statement: string;
  detail: string;
}

/** Allowed, but a reviewer should look (e.g. a constraint replaced by one of the same name). */
export interface Caution {
  statement: string;
  detail: string;
}

export interface MigrationReview {
  /** `-- expand: <change>`: the first step of a change whose contract step comes later. */
  expands?: string;
  /** `-- contract: <change>`: the last step of that change; may take away what it replaced. */
  contracts?: string;
  refusals: Refusal[];
  cautions: Caution[];
}

const breakpoint = "--> statement-breakpoint";

/** One piece of SQL text as PostgreSQL's lexer sees it, for the two readings below. */
interface Piece {
  kind: "comment" | "body" | "literal" | "identifier" | "semicolon" | "code";
  text: string;
}

/**
 * The SQL text in pieces: comments (`--`, `/* … *\/`), dollar-quoted bodies, string literals and
 * quoted identifiers (a doubled quote stays inside), semicolons, and everything else a character
 * at a time. An unterminated piece runs to the end.
 */
function* piecesOf(sql: string): Generator<Piece> {
  const dollarTag = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;
  let i = 0;
  while (i < sql.length) {
    const start = i;
    dollarTag.lastIndex = i;
    const dollar = dollarTag.exec(sql)?.[0];
    let kind: Piece["kind"];
    if (sql.startsWith("--", i)) {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end + 1;
      kind = "comment";
    } else if (sql.startsWith("/*", i)) {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 2;
      kind = "comment";
    } else if (dollar) {
      const end = sql.indexOf(dollar, i + dollar.length);
      i = end === -1 ? sql.length : end + dollar.length;
      kind = "body";
    } else if (sql[i] === "'" || sql[i] === '"') {
      const quote = sql[i];
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === quote && sql[j + 1] === quote) j += 2;
        else if (sql[j] === quote) break;
        else j += 1;
      }
      i = Math.min(j + 1, sql.length);
      kind = quote === '"' ? "identifier" : "literal";
    } else {
      kind = sql[i] === ";" ? "semicolon" : "code";
      i += 1;
    }
    yield { kind, text: sql.slice(start, i) };
  }
}

/**
 * The statement's SQL without what cannot be a statement's structure: comments, string
 * literals and dollar-quoted bodies (a function's `DROP` inside `$$ … $$` is not this migration
 * dropping anything). Quoted identifiers keep their names: a constraint replaced is matched by
 * name.
 */
export function structureOf(statement: string): string {
  let out = "";
  for (const piece of piecesOf(statement)) {
    if (piece.kind === "comment") out += " ";
    else if (piece.kind === "body") out += " $$ ";
    else if (piece.kind === "literal") out += "''";
    else out += piece.text;
  }
  return out.replace(/\s+/g, " ").trim();
}

/** Splits a migration file into statements (drizzle-kit's breakpoints, else semicolons outside bodies). */
export function statementsOf(sql: string): string[] {
  const parts = sql.includes(breakpoint) ? sql.split(breakpoint) : splitOnSemicolons(sql);
  return parts.map((part) => part.trim()).filter((part) => structureOf(part) !== "");
}

function splitOnSemicolons(sql: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (const piece of piecesOf(sql)) {
    if (piece.kind === "semicolon") {
      parts.push(current);
      current = "";
    } else {
      current += piece.text;
    }
  }
  parts.push(current);
  return parts;
}

/** Type changes a running version cannot notice: every value it reads or writes still fits. */
const wideningTargets = /^(TEXT|BIGINT|NUMERIC|JSONB|TIMESTAMP WITH TIME ZONE|TIMESTAMPTZ)\b/;

const brief = (statement: string) => (statement.length > 200 ? `${statement.slice(0, 197)}...` : statement);

/** Reviews one migration file's SQL. */
export function reviewMigration(sql: string): MigrationReview {
  const review: MigrationReview = { refusals: [], cautions: [] };
  const expands = /^\s*--\s*expand:\s*(\S.*?)\s*$/im.exec(sql)?.[1];
  const contracts = /^\s*--\s*contract:\s*(\S.*?)\s*$/im.exec(sql)?.[1];
  if (expands) review.expands = expands;
  if (contracts) review.contracts = contracts;
  const statements = statementsOf(sql).map(structureOf);
  const added = new Set<string>();
  for (const statement of statements) {
    const constraint = /\bADD CONSTRAINT ("[^"]+"|\S+)/i.exec(statement)?.[1];
    if (constraint) added.add(constraint.replaceAll('"', ""));
  }
  const refuse = (rule: Refusal["rule"], statement: string, detail: string) =>
    review.refusals.push({ rule, statement: brief(statement), detail });
  for (const statement of statements) {
    const upper = statement.toUpperCase();
    const dropped = /\bDROP CONSTRAINT (?:IF EXISTS )?("[^"]+"|\S+)/i.exec(statement)?.[1]?.replaceAll('"', "");
    if (dropped !== undefined && added.has(dropped)) {
      review.cautions.push({
        statement: brief(statement),
        detail: `replaces constraint ${dropped}: it must accept every row the running version writes`,
      });
    } else if (/^DROP\b/.test(upper) || /\bDROP (COLUMN|CONSTRAINT|DEFAULT)\b/.test(upper)) {
      // DROP NOT NULL loosens; everything else dropped is something a running version may use.
      refuse("drop", statement, "drops what the running version may still read or write");
    }
    if (/\bRENAME\b/.test(upper)) {
      refuse("rename", statement, "a rename breaks every query of the running version that uses the old name");
    }
    if (/\bSET NOT NULL\b/.test(upper)) {
      refuse("set_not_null", statement, "the running version may still write NULL here");
    }
    // ALTER TABLE t action, action, …: each action on its own.
    for (const action of statement.split(/,\s*(?=(?:ADD|ALTER|DROP)\b)/i)) {
      const column = /\bADD (?:COLUMN )?(?:IF NOT EXISTS )?("[^"]+"|\w+) (.*)$/i.exec(action);
      const definition = (column?.[2] ?? "").toUpperCase();
      if (
        column &&
        !/^(CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN|VALUE)$/i.test(column[1] ?? "") &&
        /\bNOT NULL\b/.test(definition) &&
        !/\b(DEFAULT|GENERATED)\b/.test(definition)
      ) {
        refuse(
          "not_null_without_default",
          statement,
          `column ${column[1]} is NOT NULL without a default: the running version's inserts omit it`,
        );
      }
      const change = /\bALTER (?:COLUMN )?("[^"]+"|\w+) (?:SET DATA )?TYPE (.+)$/i.exec(action);
      if (change && !wideningTargets.test((change[2] ?? "").trim().toUpperCase())) {
        refuse("type_change", statement, `column ${change[1]} changes type to ${change[2]?.trim()}: it may narrow`);
      }
    }
    if (/^TRUNCATE\b/.test(upper)) refuse("truncate", statement, "removes every row of the table");
  }
  return review;
}
