import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startCloudflareApi } from "../cloudflare-api/server.ts";
import { startKafkaRestServer } from "../kafka-rest/server.ts";
import { startNeonRelay } from "../neon-relay/relay.ts";
import { type DatabaseLayout, prepareDatabases } from "../postgres/databases.ts";
import { startEmbeddedPostgres } from "../postgres/embedded.ts";
import { migrateAll } from "../postgres/migrate.ts";
import { embeddedBackend, redisBackend } from "../upstash-redis/backend.ts";
import { startUpstashRestServer } from "../upstash-redis/server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Where each service's test database is, and whether clients may prepare statements. */
    databases: DatabaseLayout;
    /** NEON_WS_PROXY for workers using the Neon driver. */
    neonWsProxy: string;
    /** The Upstash-compatible Redis REST endpoint (over REDIS_URL when set, else embedded). */
    upstash: { url: string; token: string };
    /** The Kafka REST endpoint: KAFKA_REST_URL when set, else the development broker (in memory). */
    kafkaRestUrl: string;
    /** The Cloudflare API stand-in (Workers deployments, Analytics Engine SQL) the rollout controller uses. */
    cloudflareApi: { baseUrl: string; accountId: string; token: string };
  }
}

/**
 * Starts what worker tests run against: PostgreSQL (the server in DATABASE_URL, with
 * `edgebank_test_<service>` databases; else an in-memory embedded PGlite), every service's
 * migrations, the WebSocket relay of the Neon driver, the Upstash-compatible Redis endpoint, the
 * Kafka REST broker (unless KAFKA_REST_URL names one) and the Cloudflare API stand-in.
 */
export default async function setup(project: TestProject) {
  const serverUrl = process.env.DATABASE_URL;
  const embedded = serverUrl ? undefined : await startEmbeddedPostgres();
  const layout = await prepareDatabases(serverUrl ?? embedded?.url ?? "", {
    prefix: "edgebank_test",
    embedded: !serverUrl,
  });
  await migrateAll(layout.urls);
  const relay = await startNeonRelay();
  const upstash = await startUpstashRestServer({
    backend: process.env.REDIS_URL ? redisBackend(process.env.REDIS_URL) : embeddedBackend(),
    token: randomBytes(24).toString("base64url"),
  });
  project.provide("databases", layout);
  project.provide("neonWsProxy", relay.proxy);
  project.provide("upstash", { url: upstash.url, token: upstash.token });
  // Every test file runs its own copies of the services' consumer objects, each joining the same
  // groups: an instance whose file finished is dropped after 5 s of silence (live consumers poll
  // continuously), so its partitions pass to a live one within a test's patience.
  const broker = process.env.KAFKA_REST_URL ? undefined : await startKafkaRestServer({ instanceTimeoutMs: 5_000 });
  project.provide("kafkaRestUrl", process.env.KAFKA_REST_URL ?? broker?.url ?? "");
  const cloudflareAccount = "0123456789abcdef0123456789abcdef";
  const cloudflareToken = randomBytes(24).toString("base64url");
  const cloudflare = await startCloudflareApi({ accountId: cloudflareAccount, token: cloudflareToken });
  project.provide("cloudflareApi", {
    baseUrl: cloudflare.apiBaseUrl,
    accountId: cloudflareAccount,
    token: cloudflareToken,
  });
  return async () => {
    await cloudflare.close();
    await broker?.close();
    await upstash.close();
    await relay.close();
    await embedded?.stop();
  };
}
