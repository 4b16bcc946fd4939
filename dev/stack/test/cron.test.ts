import { describe, expect, it } from "vitest";
import { cronMatches, cronTriggers } from "../cron.ts";

const at = (iso: string) => new Date(iso);

describe("cronMatches", () => {
  it("fires every minute, every n minutes, and at fixed minutes of the hour", () => {
    expect(cronMatches("* * * * *", at("2026-12-01T10:17:00Z"))).toBe(true);
    expect(cronMatches("*/15 * * * *", at("2026-12-01T10:30:00Z"))).toBe(true);
    expect(cronMatches("*/15 * * * *", at("2026-12-01T10:31:00Z"))).toBe(false);
    expect(cronMatches("7 * * * *", at("2026-12-01T03:07:00Z"))).toBe(true);
    expect(cronMatches("7 * * * *", at("2026-12-01T03:08:00Z"))).toBe(false);
  });

  it("reads ranges, lists and steps in every field, in UTC", () => {
    expect(cronMatches("0 9-17/4 * * 1-5", at("2026-12-01T13:00:00Z"))).toBe(true); // a Tuesday
    expect(cronMatches("0 9-17/4 * * 1-5", at("2026-12-05T13:00:00Z"))).toBe(false); // a Saturday
    expect(cronMatches("30 2 1,15 * *", at("2026-12-15T02:30:00Z"))).toBe(true);
    expect(cronMatches("0 0 * * 7", at("2026-12-06T00:00:00Z"))).toBe(true); // Sunday as 7
    // Both day fields restricted: either one is enough, as in cron.
    expect(cronMatches("0 0 1 * 0", at("2026-12-06T00:00:00Z"))).toBe(true);
  });

  it("refuses what it cannot run rather than never firing", () => {
    expect(() => cronMatches("* * *", new Date())).toThrow(/five-field/);
    expect(() => cronMatches("0 0 L * *", new Date())).toThrow(/unsupported/);
    expect(() => cronMatches("61 * * * *", new Date())).toThrow(/out of range/);
  });
});

describe("cronTriggers", () => {
  it("reads every Worker's Cron Triggers from its wrangler config", () => {
    const triggers = cronTriggers(["wrangler.toml", "workers/ledger/wrangler.toml", "workers/transfers/wrangler.toml"]);
    expect(triggers).toEqual([
      { worker: "edgebank-ledger", cron: "*/10 * * * *" },
      { worker: "edgebank-ledger", cron: "7 * * * *" },
      { worker: "edgebank-transfers", cron: "* * * * *" },
    ]);
  });
});
