import { baseVars, bindingWith, defineConfig, listVar } from "@edgebank/config";
import { z } from "zod";
import { type DownstreamBinding, downstreams } from "./services.ts";

/** A service binding: what the gateway calls `fetch` on. */
const serviceBinding = bindingWith("fetch").transform((binding) => binding as unknown as Fetcher);

const bindings = Object.fromEntries(downstreams.map(({ binding }) => [binding, serviceBinding])) as {
  [K in DownstreamBinding]: typeof serviceBinding;
};

const perMinute = z.coerce.number().int().positive().max(100_000);

export const gatewayConfig = defineConfig(
  baseVars.extend({
    /** Deadline of one readiness probe of a service. */
    DOWNSTREAM_TIMEOUT_MS: z.coerce.number().int().positive().max(30_000).default(2_000),
    /** Deadline of a proxied API call (a transfer may wait a few seconds for its saga). */
    PROXY_TIMEOUT_MS: z.coerce.number().int().positive().max(60_000).default(10_000),
    TOKEN_ISSUER: z.string().min(1),
    TOKEN_AUDIENCE: z.string().min(1),
    /** How long the gateway keeps auth's JWKS, and the least time between refetches for unknown kids. */
    JWKS_TTL_SECONDS: z.coerce.number().int().positive().max(3600).default(300),
    JWKS_REFETCH_COOLDOWN_SECONDS: z.coerce.number().int().positive().max(3600).default(30),
    /** Comma-separated origins allowed by CORS (exact match); empty: no cross-origin access. */
    CORS_ORIGINS: listVar,
    UPSTASH_REDIS_REST_URL: z.url(),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
    /** Namespace of every key the gateway writes to Redis (environments may share a database). */
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .default("edgebank"),
    /** Requests per minute: per principal on the API; per client IP on credentials endpoints and public documents. */
    RATE_LIMIT_API_PER_MINUTE: perMinute.default(600),
    RATE_LIMIT_AUTH_PER_MINUTE: perMinute.default(20),
    RATE_LIMIT_PUBLIC_PER_MINUTE: perMinute.default(300),
    /**
     * The credential of the platform's own monitor for GET /health/all (a bearer secret of at
     * least 32 characters); without it only operators may call it.
     */
    HEALTH_PROBE_TOKEN: z.string().min(32).optional(),
    ...bindings,
    /** The web app's Worker (workers/web): its files at /app. */
    WEB: serviceBinding,
  }),
);

export type GatewayConfig = ReturnType<typeof gatewayConfig>;
