import type { Database, Transaction } from "@edgebank/db";
import { newId } from "@edgebank/ids";
import { and, eq, inArray, lte, sql } from "drizzle-orm";
import type { JSONWebKeySet } from "jose";
import { auditLog, signingKeys } from "../db/schema.ts";
import { decryptPrivateKey, encryptPrivateKey } from "./key-encryption.ts";

/** Clock skew verifiers allow; a previous key stays published this much longer than its last token. */
const SKEW_SECONDS = 60;
const PUBLISHED = ["next", "current", "previous"] as const;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

async function newKeyRow(tx: Transaction, kek: CryptoKey, status: "next" | "current") {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const kid = newId("signingKey");
  const publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const privateJwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  await tx.insert(signingKeys).values({
    kid,
    status,
    alg: "ES256",
    publicJwk: {
      kty: publicJwk.kty,
      crv: publicJwk.crv,
      x: publicJwk.x,
      y: publicJwk.y,
      kid,
      alg: "ES256",
      use: "sig",
    },
    privateJwkEncrypted: await encryptPrivateKey(kek, kid, privateJwk),
    activatedAt: status === "current" ? new Date() : null,
  });
  return kid;
}

/**
 * Makes sure a current and a next key exist (first start). Safe under concurrency: the
 * partial unique indexes let only one `current` and one `next` in; a loser just re-reads.
 */
export async function ensureKeys(db: Database, kek: CryptoKey): Promise<void> {
  const rows = await db
    .select({ status: signingKeys.status })
    .from(signingKeys)
    .where(inArray(signingKeys.status, ["current", "next"]));
  const have = new Set(rows.map((row) => row.status));
  if (have.has("current") && have.has("next")) return;
  try {
    await db.transaction(async (tx) => {
      if (!have.has("current")) await newKeyRow(tx, kek, "current");
      if (!have.has("next")) await newKeyRow(tx, kek, "next");
    });
  } catch (error) {
    if (
      (error as { cause?: { code?: string }; code?: string }).cause?.code !== "23505" &&
      (error as { code?: string }).code !== "23505"
    )
      throw error;
  }
}

/**
 * The published keys: next, current and previous (never retired ones). The first call on an
 * empty database creates the current and next keys, so a resource server that fetches the
 * set before anyone signed in caches keys, not an empty set.
 */
export async function publishedJwks(db: Database, kek: CryptoKey): Promise<JSONWebKeySet> {
  const read = () =>
    db
      .select({ status: signingKeys.status, publicJwk: signingKeys.publicJwk })
      .from(signingKeys)
      .where(inArray(signingKeys.status, [...PUBLISHED]))
      .orderBy(signingKeys.createdAt);
  let rows = await read();
  const has = (status: string) => rows.some((row) => row.status === status);
  if (!has("current") || !has("next")) {
    await ensureKeys(db, kek);
    rows = await read();
  }
  return { keys: rows.map((row) => row.publicJwk) as unknown as JSONWebKeySet["keys"] };
}

/** Decrypted private keys per KEK and kid: each is decrypted once per isolate. */
const privateKeys = new WeakMap<CryptoKey, Map<string, Promise<CryptoKey>>>();

/** The current signing key, its private part decrypted once per isolate. */
export async function currentSigningKey(db: Database, kek: CryptoKey): Promise<SigningKey> {
  let [row] = await db.select().from(signingKeys).where(eq(signingKeys.status, "current"));
  if (!row) {
    await ensureKeys(db, kek);
    [row] = await db.select().from(signingKeys).where(eq(signingKeys.status, "current"));
  }
  if (!row) throw new Error("no current signing key");
  const { kid, privateJwkEncrypted } = row;
  let decrypted = privateKeys.get(kek);
  if (!decrypted) {
    decrypted = new Map();
    privateKeys.set(kek, decrypted);
  }
  const cache = decrypted;
  let privateKey = cache.get(kid);
  if (!privateKey) {
    privateKey = decryptPrivateKey(kek, kid, privateJwkEncrypted).then(
      (jwk) => crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]),
      (error: unknown) => {
        // AES-GCM refuses: the key was sealed under another SIGNING_KEY_KEK (or the row was altered).
        throw new Error(`signing key ${kid} cannot be decrypted: SIGNING_KEY_KEK is not the key that encrypted it`, {
          cause: error,
        });
      },
    );
    cache.set(kid, privateKey);
    privateKey.catch(() => cache.delete(kid));
  }
  return { kid, privateKey: await privateKey };
}

/**
 * Rotation: current → previous (published until every token it signed has expired), next →
 * current, and a new next. One transaction with the rows locked, so two rotations never
 * interleave. `actor` is recorded in the audit log.
 */
export async function rotateKeys(
  db: Database,
  kek: CryptoKey,
  options: { accessTokenTtlSeconds: number; actor: string; reason: string },
): Promise<{ current: string; next: string; previous: string }> {
  await ensureKeys(db, kek);
  return db.transaction(async (tx) => {
    const rows = await tx
      .select()
      .from(signingKeys)
      .where(inArray(signingKeys.status, ["current", "next"]))
      .for("update");
    const current = rows.find((row) => row.status === "current");
    const next = rows.find((row) => row.status === "next");
    if (!current || !next) throw new Error("signing keys are incomplete");
    const retireAfter = new Date(Date.now() + (options.accessTokenTtlSeconds + SKEW_SECONDS) * 1000);
    // Order matters for the partial unique indexes: free `current` before taking it.
    await tx
      .update(signingKeys)
      .set({ status: "previous", retireAfter, version: sql`${signingKeys.version} + 1` })
      .where(eq(signingKeys.kid, current.kid));
    await tx
      .update(signingKeys)
      .set({ status: "current", activatedAt: new Date(), version: sql`${signingKeys.version} + 1` })
      .where(eq(signingKeys.kid, next.kid));
    const newNext = await newKeyRow(tx, kek, "next");
    await tx.insert(auditLog).values({
      id: newId("audit"),
      actor: options.actor,
      action: "signing_keys.rotate",
      subject: next.kid,
      details: { reason: options.reason, previous: current.kid, current: next.kid, next: newNext },
    });
    return { previous: current.kid, current: next.kid, next: newNext };
  });
}

/** Retires previous keys whose tokens have all expired; they leave the JWKS. */
export async function retireExpiredKeys(db: Database, now = new Date()): Promise<string[]> {
  const retired = await db
    .update(signingKeys)
    .set({ status: "retired", retiredAt: now, version: sql`${signingKeys.version} + 1` })
    .where(and(eq(signingKeys.status, "previous"), lte(signingKeys.retireAfter, now)))
    .returning({ kid: signingKeys.kid });
  return retired.map((row) => row.kid);
}

/** How long the current signing key has been signing, in seconds (0 without one). */
export async function currentKeyAgeSeconds(db: Database, now = new Date()): Promise<number> {
  const [row] = await db
    .select({ activatedAt: signingKeys.activatedAt })
    .from(signingKeys)
    .where(eq(signingKeys.status, "current"));
  return row?.activatedAt ? Math.max(0, Math.floor((now.getTime() - row.activatedAt.getTime()) / 1000)) : 0;
}

/** Whether the current key has signed for longer than the rotation interval. */
export async function rotationDue(db: Database, intervalSeconds: number, now = new Date()): Promise<boolean> {
  const [row] = await db
    .select({ activatedAt: signingKeys.activatedAt })
    .from(signingKeys)
    .where(eq(signingKeys.status, "current"));
  if (!row?.activatedAt) return false;
  return now.getTime() - row.activatedAt.getTime() >= intervalSeconds * 1000;
}
