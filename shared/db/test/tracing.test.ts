import { describe, expect, it } from "vitest";
import { statementName } from "../src/tracing.ts";

describe("statementName", () => {
  it("names a statement by its operation and the first table it touches", () => {
    expect(statementName('select "id" from "accounts"."accounts" where "id" = $1')).toBe("SELECT accounts.accounts");
    expect(statementName('insert into "transfers"."outbox" ("id") values ($1)')).toBe("INSERT transfers.outbox");
    expect(statementName("update accounts.outbox set published_at = now()")).toBe("UPDATE accounts.outbox");
    expect(statementName("\n  select 1 from ledger.entries e join ledger.postings p on true")).toBe(
      "SELECT ledger.entries",
    );
    expect(statementName("set local lock_timeout = '5s'")).toBe("SET");
    expect(
      statementName(`with entry as (insert into "ledger"."entries" (sequence) values ($1) returning sequence)
        insert into "ledger"."postings" (entry_sequence) select sequence from entry`),
    ).toBe("INSERT ledger.entries");
    expect(statementName("with recent as (select id from transfers.transfers) select * from recent")).toBe(
      "SELECT transfers.transfers",
    );
  });
});
