import { type AuthVariables, type JwksCache, jwksFromAuthService, requireAuth, type Scope } from "@edgebank/auth";
import { bindingWith, defineConfig } from "@edgebank/config";
import type { MiddlewareHandler } from "hono";
import { z } from "zod";

/**
 * What a service needs to verify access tokens itself (zero trust: a gateway bug must not
 * become a breach): the AUTH service binding for the JWKS, the issuer and the audience.
 */
const tokenVars = defineConfig(
  z.object({
    AUTH: bindingWith("fetch").transform((binding) => binding as unknown as Fetcher),
    TOKEN_ISSUER: z.string().min(1),
    TOKEN_AUDIENCE: z.string().min(1),
    JWKS_TTL_SECONDS: z.coerce.number().int().positive().max(3600).default(300),
  }),
);

let jwks: JwksCache | undefined;

/**
 * Route middleware of a data service: a valid access token holding every scope in `scopes`
 * (none: any valid token), verified with the same code as the gateway. Sets `c.var.principal`.
 */
export function authenticated(...scopes: Scope[]): MiddlewareHandler<{ Variables: AuthVariables }> {
  return requireAuth((env) => {
    const config = tokenVars(env);
    jwks ??= jwksFromAuthService(config.AUTH, {
      ttlMs: config.JWKS_TTL_SECONDS * 1000,
      unknownKidCooldownMs: Math.min(30_000, config.JWKS_TTL_SECONDS * 1000),
    });
    return { jwks, issuer: config.TOKEN_ISSUER, audience: config.TOKEN_AUDIENCE };
  }, scopes);
}
