/**
 * npm run bench:health
 *
 * Baseline of the platform path every later feature adds to: requests through local
 * `wrangler dev` to the gateway's own /health (no I/O), and to /health/all (the gateway calls
 * all eight services through service bindings; each opens a database client, queries, closes;
 * called with the monitor's credential, the per-caller limit raised for the run).
 * Against DATABASE_URL when set, else the embedded PGlite. Loopback only, bounded counts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../dev/stack/ports.ts";
import { newKek, startStack } from "../dev/stack/stack.ts";
import { load } from "./load.ts";

const stateDir = mkdtempSync(join(tmpdir(), "edgebank-bench-"));
const stack = await startStack({
  port: await freePort(),
  ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
  databasePrefix: "edgebank_bench",
  freshDatabases: true,
  persistDir: join(stateDir, "wrangler"),
  dbDriver: process.env.DB_DRIVER === "neon" ? "neon" : "hyperdrive",
  signingKeyKek: newKek(),
  ledgerCheckpointKey: newKek(),
  gatewayVars: { RATE_LIMIT_API_PER_MINUTE: "100000" },
  output: "ignore",
  log: () => {},
});
try {
  await stack.waitUntilReady(60_000);
  const database = process.env.DATABASE_URL ? "PostgreSQL server" : "embedded PGlite";
  console.log(
    `edgebank health benchmark: ${database}, driver ${process.env.DB_DRIVER ?? "hyperdrive"}, wrangler dev on loopback`,
  );
  const runs = [
    { path: "/health", requests: 2_000, concurrency: 1 },
    { path: "/health", requests: 4_000, concurrency: 32 },
    { path: "/health/all", requests: 300, concurrency: 1 },
    { path: "/health/all", requests: 600, concurrency: 8 },
  ];
  await load(`${stack.url}/health`, 200, 8); // warm-up
  const rows = [];
  for (const run of runs) {
    const monitor = { authorization: `Bearer ${stack.healthProbeToken}` };
    rows.push({ path: run.path, ...(await load(`${stack.url}${run.path}`, run.requests, run.concurrency, monitor)) });
  }
  console.table(rows);
} finally {
  await stack.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
