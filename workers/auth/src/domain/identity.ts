import type { Role } from "@edgebank/auth";
import { type Database, databaseError } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { eq, sql } from "drizzle-orm";
import { auditLog, clients, passwordCredentials, users } from "../db/schema.ts";
import { hashPassword, needsRehash, verifyAgainstNothing, verifyPassword } from "./passwords.ts";
import { hashSecret, newSecret, secretMatches } from "./secrets.ts";
import { invalidGrant } from "./tokens.ts";

/** Emails compare trimmed and case-insensitively; they are stored that way. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function registerUser(db: Database, input: { email: string; password: string; role?: Role }) {
  const email = normaliseEmail(input.email);
  const password = await hashPassword(input.password);
  const user = { id: newId("user"), email, role: input.role ?? "customer" };
  try {
    await db.transaction(async (tx) => {
      await tx.insert(users).values(user);
      await tx.insert(passwordCredentials).values({ userId: user.id, ...password });
    });
  } catch (error) {
    if (databaseError(error)?.code === "23505")
      throw new AppError("conflict", "An account with this email already exists.");
    throw error;
  }
  return user;
}

/** Failed logins in a row after which an account is locked, and the lock's growth. */
export const LOCK_AFTER_FAILURES = 5;
const LOCK_BASE_SECONDS = 30;
const LOCK_MAX_SECONDS = 900;

/**
 * Checks an email and password. An unknown email and a wrong password get the same error after
 * the same amount of work. From the 5th failure in a row an account is locked for 30 s, doubling
 * up to 15 min; while locked even the right password is refused, with the same answer, after
 * the same work, so a lock reveals neither the account nor the guess. Success resets the count.
 * A hash made with weaker parameters is upgraded on success.
 */
export async function authenticateUser(db: Database, email: string, password: string) {
  const [row] = await db
    .select({
      lockedUntil: passwordCredentials.lockedUntil,
      id: users.id,
      role: users.role,
      params: passwordCredentials.params,
      salt: passwordCredentials.salt,
      hash: passwordCredentials.hash,
      failedAttempts: passwordCredentials.failedAttempts,
    })
    .from(users)
    .innerJoin(passwordCredentials, eq(passwordCredentials.userId, users.id))
    .where(eq(users.email, normaliseEmail(email)));
  const valid = row ? await verifyPassword(password, row) : await verifyAgainstNothing(password);
  const locked = row?.lockedUntil !== null && row?.lockedUntil !== undefined && row.lockedUntil.getTime() > Date.now();
  if (row && !valid) {
    const failures = sql`${passwordCredentials.failedAttempts} + 1`;
    await db
      .update(passwordCredentials)
      .set({
        failedAttempts: failures,
        lockedUntil: sql`case when ${failures} >= ${LOCK_AFTER_FAILURES}
          then now() + least(${LOCK_MAX_SECONDS}, ${LOCK_BASE_SECONDS} * power(2, ${failures} - ${LOCK_AFTER_FAILURES})) * interval '1 second'
          else ${passwordCredentials.lockedUntil} end`,
      })
      .where(eq(passwordCredentials.userId, row.id));
  }
  if (!row || !valid || locked) throw invalidGrant("The email or password is incorrect.");
  if (row.failedAttempts > 0) {
    await db
      .update(passwordCredentials)
      .set({ failedAttempts: 0, lockedUntil: null })
      .where(eq(passwordCredentials.userId, row.id));
  }
  if (needsRehash(row.params)) {
    await db
      .update(passwordCredentials)
      .set({ ...(await hashPassword(password)), updatedAt: new Date() })
      .where(eq(passwordCredentials.userId, row.id));
  }
  return { id: row.id, role: row.role };
}

export async function findUser(db: Database, userId: string) {
  const [row] = await db
    .select({ id: users.id, role: users.role, email: users.email })
    .from(users)
    .where(eq(users.id, userId));
  return row;
}

/** A client as the token endpoint needs it. */
export interface AuthenticatedClient {
  id: string;
  kind: "first_party" | "machine";
  scopes: string[];
}

/**
 * Identifies the OAuth client of a token request. First-party (public) clients send no
 * secret; machine clients must send theirs. Every failure is `invalid_client`.
 */
export async function authenticateClient(
  db: Database,
  clientId: string,
  secret: string | undefined,
): Promise<AuthenticatedClient> {
  const [row] = await db.select().from(clients).where(eq(clients.id, clientId));
  const refuse = () =>
    new AppError("unauthorized", "The client is unknown or its credentials are wrong.", {
      extensions: { error: "invalid_client", error_description: "client authentication failed" },
      headers: { "www-authenticate": 'Basic realm="edgebank"' },
    });
  if (!row || row.revokedAt) throw refuse();
  if (row.kind === "machine") {
    if (!secret || !row.secretHash || !secretMatches(secret, row.secretHash)) throw refuse();
  } else if (secret !== undefined) {
    throw refuse(); // a public client has no secret: sending one means confusion or probing
  }
  return { id: row.id, kind: row.kind, scopes: row.scopes.split(" ").filter(Boolean) };
}

/** Creates a machine client; its secret is returned once and only its hash is kept. */
export async function createMachineClient(
  db: Database,
  input: { name: string; scopes: string[]; ownerUserId?: string; actor: string },
) {
  const id = newId("client");
  const secret = newSecret();
  await db.transaction(async (tx) => {
    await tx.insert(clients).values({
      id,
      name: input.name,
      kind: "machine",
      secretParams: { alg: "sha256" },
      secretHash: hashSecret(secret),
      scopes: input.scopes.join(" "),
      ownerUserId: input.ownerUserId ?? null,
    });
    await tx.insert(auditLog).values({
      id: newId("audit"),
      actor: input.actor,
      action: "clients.create",
      subject: id,
      details: { scopes: input.scopes },
    });
  });
  return { id, secret, scopes: input.scopes };
}

/**
 * The scope to grant: everything `allowed` when nothing was asked for, else exactly what was
 * asked, provided all of it is allowed (`invalid_scope` otherwise, RFC 6749 §5.2).
 */
export function narrowScope(allowed: readonly string[], requested: string | undefined): string {
  if (!requested) return allowed.join(" ");
  const asked = [...new Set(requested.split(" ").filter(Boolean))];
  const invalid = asked.filter((scope) => !allowed.includes(scope));
  if (invalid.length > 0) {
    throw new AppError("bad_request", `Scope not allowed: ${invalid.join(", ")}.`, {
      extensions: { error: "invalid_scope", error_description: "a requested scope is not allowed" },
    });
  }
  return asked.join(" ");
}
