import { AppError } from "@edgebank/errors";
import type { Logger } from "@edgebank/http";
import { PolicyRegistry } from "@edgebank/resilience";
import { Ratelimit } from "@upstash/ratelimit";
import type { GatewayConfig } from "./config.ts";
import { redis } from "./redis.ts";

export type LimitClass = "api" | "auth" | "public";

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window frees capacity. */
  resetSeconds: number;
  /** Whether the decision came from the local fallback because Redis could not be reached. */
  degraded: boolean;
}

const WINDOW_SECONDS = 60;
const policies = new PolicyRegistry();
let limiters: Record<LimitClass, Ratelimit> | undefined;

function limitOf(config: GatewayConfig, kind: LimitClass): number {
  switch (kind) {
    case "api":
      return config.RATE_LIMIT_API_PER_MINUTE;
    case "auth":
      return config.RATE_LIMIT_AUTH_PER_MINUTE;
    case "public":
      return config.RATE_LIMIT_PUBLIC_PER_MINUTE;
  }
}

function shared(config: GatewayConfig): Record<LimitClass, Ratelimit> {
  const limiter = (kind: LimitClass) =>
    new Ratelimit({
      redis: redis(config),
      limiter: Ratelimit.slidingWindow(limitOf(config, kind), `${WINDOW_SECONDS} s`),
      prefix: `${config.REDIS_KEY_PREFIX}:rl:${kind}`,
      analytics: false,
    });
  limiters ??= { api: limiter("api"), auth: limiter("auth"), public: limiter("public") };
  return limiters;
}

/** Per-isolate fixed windows: the fallback when Redis cannot be reached. */
const local = new Map<string, { windowStart: number; count: number }>();

function localDecision(key: string, limit: number, now: number): LimitDecision {
  const windowStart = now - (now % (WINDOW_SECONDS * 1000));
  let entry = local.get(key);
  if (!entry || entry.windowStart !== windowStart) {
    if (local.size > 10_000) local.clear(); // bounded memory: a flood of identifiers just resets
    entry = { windowStart, count: 0 };
    local.set(key, entry);
  }
  entry.count += 1;
  const resetSeconds = Math.ceil((windowStart + WINDOW_SECONDS * 1000 - now) / 1000);
  return {
    allowed: entry.count <= limit,
    limit,
    remaining: Math.max(0, limit - entry.count),
    resetSeconds,
    degraded: true,
  };
}

/**
 * Counts one request of `identifier` in its class. Shared limits live in Redis (a sliding
 * window through @upstash/ratelimit). If Redis is unreachable or slow, the isolate falls back
 * to a local window with the same limit instead of failing open or closed, and logs it.
 */
export async function checkRateLimit(
  config: GatewayConfig,
  kind: LimitClass,
  identifier: string,
  log: Logger,
): Promise<LimitDecision> {
  const limit = limitOf(config, kind);
  const policy = policies.get("upstash-ratelimit", { attemptTimeoutMs: 250, retry: { maxAttempts: 1 } });
  try {
    const result = await policy.execute(() => shared(config)[kind].limit(identifier));
    return {
      allowed: result.success,
      limit,
      remaining: result.remaining,
      resetSeconds: Math.max(0, Math.ceil((result.reset - Date.now()) / 1000)),
      degraded: false,
    };
  } catch (error) {
    log.warn("rate limit store unavailable: local fallback", {
      kind,
      error: error instanceof Error ? error.message : String(error),
    });
    return localDecision(`${kind}:${identifier}`, limit, Date.now());
  }
}

/** RateLimit-Policy and RateLimit headers (draft-ietf-httpapi-ratelimit-headers), structured-field form. */
export function rateLimitHeaders(kind: LimitClass, decision: LimitDecision): Record<string, string> {
  return {
    "ratelimit-policy": `"${kind}";q=${decision.limit};w=${WINDOW_SECONDS}`,
    ratelimit: `"${kind}";r=${decision.remaining};t=${decision.resetSeconds}`,
  };
}

export function tooManyRequests(kind: LimitClass, decision: LimitDecision): AppError {
  const retryAfter = Math.max(1, decision.resetSeconds);
  return new AppError("rate_limited", `Too many requests; retry in ${retryAfter} s.`, {
    headers: { ...rateLimitHeaders(kind, decision), "retry-after": String(retryAfter) },
    extensions: { retryAfter },
  });
}

/** Who a per-IP limit counts: the client address Cloudflare saw. */
export function clientAddress(request: { header(name: string): string | undefined }): string {
  return `ip:${request.header("cf-connecting-ip") ?? "unknown"}`;
}

/**
 * Counts one request in its limit: throws the 429 problem (with Retry-After) when the limit is
 * spent, else gives the RateLimit headers its answer carries.
 */
export async function admit(
  config: GatewayConfig,
  kind: LimitClass,
  identifier: string,
  log: Logger,
): Promise<Record<string, string>> {
  const decision = await checkRateLimit(config, kind, identifier, log);
  if (!decision.allowed) throw tooManyRequests(kind, decision);
  return rateLimitHeaders(kind, decision);
}
