import {
  bearerToken,
  insufficientScope,
  type JwksCache,
  jwksFromAuthService,
  type Principal,
  verifyAccessToken,
} from "@edgebank/auth";
import type { Access } from "@edgebank/contracts/public-routes";
import type { GatewayConfig } from "./config.ts";

let jwks: JwksCache | undefined;

/**
 * Verifies the caller's access token against the auth service's keys (cached per isolate,
 * fetched through the AUTH binding) and applies the route's access rule.
 */
export async function authenticate(
  config: GatewayConfig,
  authorization: string | undefined,
  access: Exclude<Access, "public">,
): Promise<Principal> {
  jwks ??= jwksFromAuthService(config.AUTH, {
    ttlMs: config.JWKS_TTL_SECONDS * 1000,
    unknownKidCooldownMs: config.JWKS_REFETCH_COOLDOWN_SECONDS * 1000,
  });
  const principal = await verifyAccessToken(bearerToken(authorization), {
    jwks,
    issuer: config.TOKEN_ISSUER,
    audience: config.TOKEN_AUDIENCE,
  });
  if (access !== "authenticated" && !access.anyOf.some((scope) => principal.scopes.has(scope))) {
    throw insufficientScope(`This requires one of the scopes ${access.anyOf.join(", ")}.`, access.anyOf);
  }
  return principal;
}
