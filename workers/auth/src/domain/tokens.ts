import { ACCESS_TOKEN_TYPE } from "@edgebank/auth";
import type { Database } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { and, eq, isNull } from "drizzle-orm";
import { SignJWT } from "jose";
import { refreshTokens } from "../db/schema.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import type { SigningKey } from "./signing-keys.ts";

export interface AccessTokenClaims {
  subject: string;
  clientId: string;
  scope: string;
}

/** An RFC 9068 access token: ES256, `typ` at+jwt, `kid` of the signing key. */
export async function signAccessToken(
  key: SigningKey,
  claims: AccessTokenClaims,
  options: { issuer: string; audience: string; ttlSeconds: number },
): Promise<{ token: string; expiresIn: number }> {
  const token = await new SignJWT({ scope: claims.scope, client_id: claims.clientId })
    .setProtectedHeader({ alg: "ES256", typ: ACCESS_TOKEN_TYPE, kid: key.kid })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(claims.subject)
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds}s`)
    .sign(key.privateKey);
  return { token, expiresIn: options.ttlSeconds };
}

/**
 * An OpenID Connect ID token (Core §2): who signed in, for which client, when, with the
 * client's nonce; signed with the same keys as access tokens, `typ` JWT.
 */
export async function signIdToken(
  key: SigningKey,
  claims: { subject: string; clientId: string; authTime: Date; nonce?: string | undefined; email: string },
  options: { issuer: string; ttlSeconds: number },
): Promise<string> {
  return new SignJWT({
    auth_time: Math.floor(claims.authTime.getTime() / 1000),
    azp: claims.clientId,
    email: claims.email,
    ...(claims.nonce ? { nonce: claims.nonce } : {}),
  })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: key.kid })
    .setIssuer(options.issuer)
    .setAudience(claims.clientId)
    .setSubject(claims.subject)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds}s`)
    .sign(key.privateKey);
}

/** RFC 6749 §5.2: every refused grant looks the same to the client. */
export function invalidGrant(description: string): AppError {
  return new AppError("bad_request", description, {
    extensions: { error: "invalid_grant", error_description: description },
  });
}

/** Starts a new refresh-token family (a login on one device). Returns the opaque token. */
export async function issueRefreshToken(
  db: Database,
  input: { userId: string; clientId: string; scope: string; ttlSeconds: number; familyId?: string | undefined },
): Promise<string> {
  const token = newSecret();
  await db.insert(refreshTokens).values({
    id: newId("refreshToken"),
    familyId: input.familyId ?? newId("tokenFamily"),
    userId: input.userId,
    clientId: input.clientId,
    tokenHash: hashSecret(token),
    scope: input.scope,
    expiresAt: new Date(Date.now() + input.ttlSeconds * 1000),
  });
  return token;
}

/**
 * Exchanges a refresh token for a new one of the same family. A token that was already
 * exchanged means it leaked (the thief or the owner is replaying it): the whole family is
 * revoked and both must log in again. The row lock serializes concurrent exchanges.
 */
export async function rotateRefreshToken(
  db: Database,
  input: { token: string; clientId: string; ttlSeconds: number },
): Promise<{ userId: string; scope: string; refreshToken: string }> {
  const outcome = await db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashSecret(input.token)))
      .for("update");
    if (!row || row.clientId !== input.clientId) return { kind: "invalid" as const };
    if (row.revokedAt) return { kind: "invalid" as const };
    if (row.rotatedAt) {
      await tx
        .update(refreshTokens)
        .set({ revokedAt: new Date(), revokeReason: "reuse_detected" })
        .where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt)));
      return { kind: "reused" as const };
    }
    if (row.expiresAt.getTime() <= Date.now()) return { kind: "invalid" as const };
    await tx.update(refreshTokens).set({ rotatedAt: new Date() }).where(eq(refreshTokens.id, row.id));
    const refreshToken = newSecret();
    await tx.insert(refreshTokens).values({
      id: newId("refreshToken"),
      familyId: row.familyId,
      userId: row.userId,
      clientId: row.clientId,
      tokenHash: hashSecret(refreshToken),
      scope: row.scope,
      expiresAt: new Date(Date.now() + input.ttlSeconds * 1000),
    });
    return { kind: "rotated" as const, userId: row.userId, scope: row.scope, refreshToken };
  });
  // The family revocation above must commit, so the refusal is thrown after the transaction.
  if (outcome.kind !== "rotated") throw invalidGrant("The refresh token is invalid, expired or revoked.");
  return outcome;
}

/**
 * Revokes the family of a refresh token (RFC 7009: unknown tokens are not an error). With
 * `ownerId`, only a token of that user is revoked: nobody logs out somebody else's session.
 * Returns whether a family was revoked.
 */
export async function revokeRefreshToken(
  db: Database,
  token: string,
  reason: string,
  ownerId?: string,
): Promise<boolean> {
  const [row] = await db
    .select({ familyId: refreshTokens.familyId, userId: refreshTokens.userId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, hashSecret(token)));
  if (!row || (ownerId !== undefined && row.userId !== ownerId)) return false;
  await revokeFamily(db, row.familyId, reason);
  return true;
}

/** Revokes every live refresh token of one family (one sign-in on one device). */
export async function revokeFamily(db: Database, familyId: string, reason: string): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: new Date(), revokeReason: reason })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

/** Revokes every refresh token of a user (log out everywhere). */
export async function revokeAllRefreshTokens(db: Database, userId: string, reason: string): Promise<number> {
  const rows = await db
    .update(refreshTokens)
    .set({ revokedAt: new Date(), revokeReason: reason })
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
    .returning({ id: refreshTokens.id });
  return rows.length;
}
