import { Redis } from "@upstash/redis/cloudflare";
import type { GatewayConfig } from "./config.ts";

let client: Redis | undefined;

/** The Upstash Redis REST client, one per isolate (it holds no socket: every command is a fetch). */
export function redis(config: GatewayConfig): Redis {
  client ??= new Redis({
    url: config.UPSTASH_REDIS_REST_URL,
    token: config.UPSTASH_REDIS_REST_TOKEN,
    // Resilience is the gateway's: one attempt here, the policy decides the rest.
    retry: false,
    enableTelemetry: false,
    // Auto-pipelining batches commands of concurrent requests into one fetch made by one of
    // them: the others then wait on another request's I/O, which workerd cancels as hung.
    enableAutoPipelining: false,
  });
  return client;
}
