/**
 * npm run bench:gateway
 *
 * What the edge costs: an authenticated GET /v1/auth/userinfo through the gateway (token
 * verification, a rate-limit round trip to Redis, the service binding hop) against the same
 * route on the auth worker called directly (which verifies the token itself), at concurrency
 * 1 and 32, in one run. Both sides run under local `wrangler dev` on loopback, against
 * DATABASE_URL when set, else the embedded PGlite. Bounded request counts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../dev/stack/ports.ts";
import { newKek, spawnWrangler, startStack, waitForOk } from "../dev/stack/stack.ts";
import { type LoadResult, load } from "./load.ts";

const stateDir = mkdtempSync(join(tmpdir(), "edgebank-bench-"));
const stack = await startStack({
  port: await freePort(),
  ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  databasePrefix: "edgebank_bench",
  freshDatabases: true,
  persistDir: join(stateDir, "wrangler"),
  dbDriver: "hyperdrive",
  signingKeyKek: newKek(),
  ledgerCheckpointKey: newKek(),
  output: "ignore",
  // The benchmark is one principal sending thousands of requests: lift the per-principal limit.
  gatewayVars: { RATE_LIMIT_API_PER_MINUTE: "100000", LOG_LEVEL: "warn", REDIS_KEY_PREFIX: `bench-${Date.now()}` },
  log: () => {},
});
const directPort = await freePort();
const direct = await spawnWrangler({
  configs: ["workers/auth/wrangler.toml"],
  port: directPort,
  persistDir: join(stateDir, "wrangler-direct"),
  env: stack.hyperdriveEnv,
  output: "ignore",
});
try {
  await stack.waitUntilReady(60_000);
  await waitForOk(`http://127.0.0.1:${directPort}/ready`, 60_000, direct.exited);

  const email = `bench.${Date.now()}@example.test`;
  const password = "benchmark passphrase";
  await fetch(`${stack.url}/v1/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const login = await fetch(`${stack.url}/v1/auth/token`, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "password", username: email, password, client_id: "edgebank-app" }),
  });
  const { access_token: token } = (await login.json()) as { access_token: string };
  const headers = { authorization: `Bearer ${token}` };

  const targets = {
    gateway: `${stack.url}/v1/auth/userinfo`,
    direct: `http://127.0.0.1:${directPort}/v1/auth/userinfo`,
  };
  for (const url of Object.values(targets)) await load(url, 100, 4, headers); // warm-up: JWKS, connections
  const rows: Array<{ path: string } & LoadResult> = [];
  for (const [concurrency, requests] of [
    [1, 500],
    [32, 2_000],
  ] as const) {
    for (const [path, url] of Object.entries(targets))
      rows.push({ path, ...(await load(url, requests, concurrency, headers)) });
  }
  const database = process.env.DATABASE_URL ? "PostgreSQL server" : "embedded PGlite";
  console.log(
    `edgebank gateway benchmark: GET /v1/auth/userinfo, ${database}, ${process.env.REDIS_URL ? "Redis" : "embedded Redis engine"}, wrangler dev on loopback`,
  );
  console.table(rows);
} finally {
  await direct.stop();
  await stack.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
