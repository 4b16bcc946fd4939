import { AppError } from "@edgebank/errors";
import type { Scope } from "./scopes.ts";

/** Who is calling, as established from a verified access token. */
export interface Principal {
  /** `usr_…` for people, `cli_…` for machine clients. */
  subject: string;
  kind: "user" | "client";
  scopes: ReadonlySet<string>;
  /** The OAuth client the token was issued to. */
  clientId: string;
  /** The token's `jti`. */
  tokenId: string;
  /** The raw token, for calls the service makes on the caller's behalf. */
  token: string;
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope);
}

/**
 * Ownership rule of every customer resource: the owner may act; otherwise only a principal
 * holding one of `privileged` (e.g. operator, auditor for reads). A stranger gets 404, not
 * 403, so ids of other people's resources cannot be probed.
 */
export function assertOwnerOr(principal: Principal, ownerId: string, privileged: Scope[], what: string): void {
  if (principal.subject === ownerId) return;
  if (privileged.some((scope) => principal.scopes.has(scope))) return;
  throw new AppError("not_found", `${what} does not exist.`);
}
