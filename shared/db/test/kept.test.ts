import { describe, expect, it } from "vitest";
import type { Database, DatabaseHandle } from "../src/client.ts";
import { KeptDatabase } from "../src/kept.ts";

/** Handles that count their opening and closing (what is kept is the client, not a query). */
function counting() {
  const opened: Array<{ db: Database; closed: number }> = [];
  const open = (): DatabaseHandle => {
    const handle = { db: { n: opened.length } as unknown as Database, closed: 0 };
    opened.push(handle);
    return { db: handle.db, close: async () => void handle.closed++ };
  };
  return { opened, open };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("KeptDatabase", () => {
  it("opens one client on first use and hands the same one out while it is in use", () => {
    const { opened, open } = counting();
    const kept = new KeptDatabase(open, 1_000);
    expect(opened).toHaveLength(0);
    const first = kept.db();
    expect(kept.db()).toBe(first);
    expect(kept.db()).toBe(first);
    expect(opened).toHaveLength(1);
    void kept.close();
  });

  it("closes it after the idle period, each use restarting it, and opens a new one on the next use", async () => {
    const { opened, open } = counting();
    const kept = new KeptDatabase(open, 60);
    const first = kept.db();
    for (let use = 0; use < 4; use++) {
      await sleep(30);
      expect(kept.db()).toBe(first); // used again within 60 ms each time: still open
    }
    expect(opened[0]?.closed).toBe(0);
    await sleep(120);
    expect(opened[0]?.closed).toBe(1);
    expect(kept.db()).not.toBe(first);
    expect(opened).toHaveLength(2);
    await kept.close();
    expect(opened[1]?.closed).toBe(1);
  });
});
