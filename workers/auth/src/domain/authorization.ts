import { createHash } from "node:crypto";
import type { Database } from "@edgebank/db";
import { and, eq, isNull } from "drizzle-orm";
import { authorizationCodes, clients } from "../db/schema.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import { invalidGrant, revokeFamily } from "./tokens.ts";

/** How long an authorization code may be exchanged. */
export const CODE_TTL_SECONDS = 60;

/** A public client that may use the authorization code flow, and where it receives codes. */
export interface PublicClient {
  id: string;
  name: string;
  redirectUris: string[];
}

/** The first-party client with this id, or undefined (machine clients never use this flow). */
export async function findPublicClient(db: Database, clientId: string): Promise<PublicClient | undefined> {
  const [row] = await db
    .select({ id: clients.id, name: clients.name, redirectUris: clients.redirectUris, kind: clients.kind })
    .from(clients)
    .where(and(eq(clients.id, clientId), isNull(clients.revokedAt)));
  return row?.kind === "first_party" ? row : undefined;
}

const loopbackHosts = new Set(["127.0.0.1", "[::1]"]);

/**
 * Whether `requested` is one of the client's registered redirect URIs. Matching is exact, with
 * two rules that keep it so: a registered path ("/app/callback") stands for that path on the
 * environment's public base URL, and a registered loopback URI matches on any port (RFC 8252
 * §7.3: a native app listens on whatever port it gets). Never a prefix, never a pattern.
 */
export function redirectAllowed(registered: readonly string[], requested: string, publicBaseUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(requested);
  } catch {
    return false;
  }
  if (url.hash || url.username || url.password) return false;
  return registered.some((uri) => {
    if (uri.startsWith("/")) return requested === `${publicBaseUrl}${uri}`;
    if (uri === requested) return true;
    const candidate = new URL(uri);
    if (candidate.protocol !== "http:" || !loopbackHosts.has(candidate.hostname)) return false;
    return (
      url.protocol === "http:" &&
      url.hostname === candidate.hostname &&
      url.pathname === candidate.pathname &&
      url.search === candidate.search
    );
  });
}

/** RFC 7636 S256: BASE64URL(SHA-256(verifier)) equals the challenge. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  return createHash("sha256").update(verifier, "ascii").digest("base64url") === challenge;
}

export interface CodeGrant {
  clientId: string;
  userId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  nonce?: string | undefined;
  authTime: Date;
}

/** Issues a one-time code for a signed-in user; only its hash is stored. */
export async function issueCode(db: Database, grant: CodeGrant): Promise<string> {
  const code = newSecret();
  await db.insert(authorizationCodes).values({
    codeHash: hashSecret(code),
    clientId: grant.clientId,
    userId: grant.userId,
    redirectUri: grant.redirectUri,
    codeChallenge: grant.codeChallenge,
    scope: grant.scope,
    nonce: grant.nonce ?? null,
    authTime: grant.authTime,
    expiresAt: new Date(Date.now() + CODE_TTL_SECONDS * 1000),
  });
  return code;
}

/**
 * Redeems a code exactly once for the client, redirect URI and PKCE verifier it was issued
 * for. Every refusal looks the same (invalid_grant). A code presented a second time is a sign
 * that it leaked: the tokens its first exchange issued are revoked.
 */
export async function redeemCode(
  db: Database,
  input: { code: string; clientId: string; redirectUri: string; codeVerifier: string },
): Promise<CodeGrant & { codeHash: string }> {
  const codeHash = hashSecret(input.code);
  const [row] = await db
    .update(authorizationCodes)
    .set({ usedAt: new Date() })
    .where(and(eq(authorizationCodes.codeHash, codeHash), isNull(authorizationCodes.usedAt)))
    .returning();
  if (!row) {
    const [used] = await db
      .select({ familyId: authorizationCodes.familyId })
      .from(authorizationCodes)
      .where(eq(authorizationCodes.codeHash, codeHash));
    if (used?.familyId) await revokeFamily(db, used.familyId, "authorization_code_reused");
    throw invalidGrant("The authorization code is invalid, expired or already used.");
  }
  const valid =
    row.expiresAt.getTime() > Date.now() &&
    row.clientId === input.clientId &&
    row.redirectUri === input.redirectUri &&
    verifierMatches(input.codeVerifier, row.codeChallenge);
  if (!valid) throw invalidGrant("The authorization code is invalid, expired or already used.");
  return {
    codeHash,
    clientId: row.clientId,
    userId: row.userId,
    redirectUri: row.redirectUri,
    codeChallenge: row.codeChallenge,
    scope: row.scope,
    nonce: row.nonce ?? undefined,
    authTime: row.authTime,
  };
}

/** Records which refresh-token family a code's exchange started. */
export async function recordFamily(db: Database, codeHash: string, familyId: string): Promise<void> {
  await db.update(authorizationCodes).set({ familyId }).where(eq(authorizationCodes.codeHash, codeHash));
}
