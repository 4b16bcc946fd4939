import { describe, expect, it } from "vitest";
import { dataServices } from "../../dev/services.ts";
import { readMigrations } from "../migrations/files.ts";
import { reviewMigration, statementsOf, structureOf } from "../migrations/policy.ts";
import { judgePending, type Migration } from "../migrations/verdict.ts";

const rules = (sql: string) => reviewMigration(sql).refusals.map((refusal) => refusal.rule);

describe("what a migration may do while two versions share the database", () => {
  it("lets additive changes through", () => {
    expect(
      rules(`CREATE TABLE "a"."t" ("id" text PRIMARY KEY NOT NULL, "n" numeric(20, 0) NOT NULL);--> statement-breakpoint
ALTER TABLE "a"."t" ADD COLUMN "note" text;--> statement-breakpoint
ALTER TABLE "a"."t" ADD COLUMN "tries" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "a"."t" ALTER COLUMN "n" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "a"."t" ALTER COLUMN "id" SET DATA TYPE text;--> statement-breakpoint
CREATE INDEX "t_note" ON "a"."t" ("note");--> statement-breakpoint
ALTER TYPE "a"."state" ADD VALUE 'closed';`),
    ).toEqual([]);
  });

  it.each([
    ["drop", `DROP TABLE "a"."t";`],
    ["drop", `ALTER TABLE "a"."t" DROP COLUMN "note";`],
    ["drop", `ALTER TABLE "a"."t" ALTER COLUMN "tries" DROP DEFAULT;`],
    ["drop", `DROP INDEX "a"."t_note";`],
    ["drop", `ALTER TABLE "a"."t" DROP CONSTRAINT "t_n_positive";`],
    ["rename", `ALTER TABLE "a"."t" RENAME COLUMN "note" TO "memo";`],
    ["rename", `ALTER TABLE "a"."t" RENAME TO "u";`],
    ["set_not_null", `ALTER TABLE "a"."t" ALTER COLUMN "note" SET NOT NULL;`],
    ["not_null_without_default", `ALTER TABLE "a"."t" ADD COLUMN "kind" text NOT NULL;`],
    [
      "not_null_without_default",
      `ALTER TABLE "a"."t" ADD COLUMN "note" text, ADD COLUMN "n2" numeric(20, 0) NOT NULL;`,
    ],
    ["type_change", `ALTER TABLE "a"."t" ALTER COLUMN "n" SET DATA TYPE integer;`],
    ["type_change", `ALTER TABLE "a"."t" ALTER COLUMN "note" TYPE varchar(20);`],
    ["truncate", `TRUNCATE "a"."t";`],
  ])("refuses %s: %s", (rule, sql) => {
    expect(rules(sql)).toContain(rule);
  });

  it("reads structure, not bodies, literals or comments", () => {
    const sql = `-- DROP TABLE nothing here
CREATE FUNCTION "a"."f"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DROP TABLE whatever; -- inside a body: not this migration's structure
END
$$;
CREATE TABLE "a"."u" ("id" text PRIMARY KEY, "label" text DEFAULT 'DROP TABLE x; RENAME' NOT NULL);`;
    expect(rules(sql)).toEqual([]);
    expect(statementsOf(sql)).toHaveLength(2);
    expect(structureOf(`SELECT 'it''s' /* c */ -- x\n, "Quoted ""id"""`)).toBe(`SELECT '' , "Quoted ""id"""`);
    // Statements end at semicolons of the structure only: not in a comment, a literal or an identifier.
    expect(statementsOf(`SELECT 1 /* a; b */; SELECT 'x;''y'; CREATE TABLE "semi;colon" ("id" text)`)).toEqual([
      "SELECT 1 /* a; b */",
      "SELECT 'x;''y'",
      'CREATE TABLE "semi;colon" ("id" text)',
    ]);
  });

  it("allows a constraint replaced by one of the same name, with a caution", () => {
    const review = reviewMigration(`ALTER TABLE "a"."t" DROP CONSTRAINT "t_kind_known";--> statement-breakpoint
ALTER TABLE "a"."t" ADD CONSTRAINT "t_kind_known" CHECK ("a"."t"."kind" in ('x', 'y', 'z'));`);
    expect(review.refusals).toEqual([]);
    expect(review.cautions).toHaveLength(1);
    expect(review.cautions[0]?.detail).toContain("t_kind_known");
  });
});

describe("a contract step", () => {
  const expand: Migration = {
    tag: "0007_memo",
    when: 700,
    sql: `-- expand: note becomes memo\nALTER TABLE "a"."t" ADD COLUMN "memo" text;`,
  };
  const contract: Migration = {
    tag: "0009_drop_note",
    when: 900,
    sql: `-- contract: note becomes memo\nALTER TABLE "a"."t" DROP COLUMN "note";`,
  };
  const unmarked: Migration = { tag: "0009_drop_note", when: 900, sql: `ALTER TABLE "a"."t" DROP COLUMN "note";` };

  it("goes out once its expand step has been deployed", () => {
    const verdicts = judgePending("svc", [expand, contract], 700);
    expect(verdicts.map((v) => [v.tag, v.refused])).toEqual([["0009_drop_note", []]]);
  });

  it("is refused in the same deploy as its expand step", () => {
    const [, verdict] = judgePending("svc", [expand, contract], 0);
    expect(verdict?.refused.join(" ")).toMatch(/cannot go out with its expand step \(0007_memo\)/);
  });

  it("is refused without an expand step, and a destructive migration without the mark", () => {
    expect(judgePending("svc", [contract], 0)[0]?.refused.join(" ")).toMatch(/no earlier migration is its expand/);
    const [verdict] = judgePending("svc", [expand, unmarked], 700);
    expect(verdict?.refused.join(" ")).toMatch(/^drops what the running version may still read or write \(drop\)/);
    expect(verdict?.refused.at(-1)).toMatch(/not additive/);
  });
});

describe("the repository's migrations", () => {
  it.each(dataServices.map((service) => service.name))("%s: every one may go out to a new database", async (name) => {
    const migrations = await readMigrations(name);
    expect(migrations.length).toBeGreaterThan(1);
    const refused = judgePending(name, migrations, 0).filter((verdict) => verdict.refused.length > 0);
    expect(refused).toEqual([]);
  });
});
