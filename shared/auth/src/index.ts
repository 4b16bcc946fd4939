export { JwksCache, type JwksCacheOptions } from "./jwks-cache.ts";
export { type AuthVariables, requireAuth } from "./middleware.ts";
export { assertOwnerOr, hasScope, type Principal } from "./principal.ts";
export { isScope, type Role, roles, type Scope, scopes, scopesByRole } from "./scopes.ts";
export { type AuthBinding, jwksFromAuthService } from "./service-jwks.ts";
export {
  ACCESS_TOKEN_ALGORITHMS,
  ACCESS_TOKEN_TYPE,
  bearerToken,
  insufficientScope,
  type VerifyOptions,
  verifyAccessToken,
} from "./verify.ts";
