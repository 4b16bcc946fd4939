import type { MiddlewareHandler } from "hono";
import type { Principal } from "./principal.ts";
import type { Scope } from "./scopes.ts";
import { bearerToken, type VerifyOptions, verifyAccessToken } from "./verify.ts";

/** Request variables set by `requireAuth`. */
export interface AuthVariables {
  principal: Principal;
}

/**
 * Requires a valid access token with every scope in `scopes`, and sets `c.var.principal`.
 * `verifier` builds the verification options from the request's env (issuer, audience, JWKS).
 */
export function requireAuth(
  verifier: (env: object) => Omit<VerifyOptions, "requiredScopes">,
  scopes: readonly Scope[] = [],
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function requireAuth(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    c.set("principal", await verifyAccessToken(token, { ...verifier(c.env as object), requiredScopes: scopes }));
    await next();
  };
}
