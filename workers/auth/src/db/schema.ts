import { sql } from "drizzle-orm";
import { check, index, integer, jsonb, pgSchema, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/** Every table of the auth service lives in this schema of the auth database. */
export const authSchema = pgSchema("auth");

/** People. The email is stored normalised (trimmed, lower case) and is unique. */
export const users = authSchema.table(
  "users",
  {
    id: text("id").primaryKey(),
    email: text("email").notNull(),
    role: text("role", { enum: ["customer", "merchant", "operator", "auditor"] }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("users_email_key").on(t.email),
    check("users_email_normalised", sql`${t.email} = lower(btrim(${t.email}))`),
    check("users_role_known", sql`${t.role} in ('customer', 'merchant', 'operator', 'auditor')`),
  ],
);

/** Password hashes, with the KDF and its parameters stored beside each so they can be raised. */
export const passwordCredentials = authSchema.table("password_credentials", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  /** e.g. `{"kdf":"scrypt","N":16384,"r":8,"p":5,"keyLength":32}` */
  params: jsonb("params").$type<Record<string, unknown>>().notNull(),
  salt: text("salt").notNull(),
  hash: text("hash").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  /** Consecutive failed logins; reset by a successful one. */
  failedAttempts: integer("failed_attempts").notNull().default(0),
  /** Logins are refused until then (per-account throttling). */
  lockedUntil: timestamp("locked_until", { withTimezone: true }),
});

/**
 * OAuth clients. First-party apps are public clients (no secret) allowed the password grant;
 * machine clients (merchants' back ends, operator tools) hold a hashed secret and use
 * client_credentials, acting as themselves with the scopes granted here.
 */
export const clients = authSchema.table(
  "clients",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    kind: text("kind", { enum: ["first_party", "machine"] }).notNull(),
    secretParams: jsonb("secret_params").$type<Record<string, unknown>>(),
    secretSalt: text("secret_salt"),
    secretHash: text("secret_hash"),
    /** Space-separated scopes a machine client may be granted. */
    scopes: text("scopes").notNull().default(""),
    /**
     * Where a public client may receive authorization codes, matched exactly (see
     * domain/redirects.ts): absolute URIs, custom-scheme URIs of mobile apps, loopback URIs
     * (any port, RFC 8252 §7.3), and paths on the environment's public base URL ("/app/callback").
     */
    redirectUris: text("redirect_uris").array().notNull().default(sql`'{}'::text[]`),
    ownerUserId: text("owner_user_id").references(() => users.id),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [
    check("clients_kind_known", sql`${t.kind} in ('first_party', 'machine')`),
    // A machine client always has a secret; a first-party (public) client never does.
    check("clients_secret_matches_kind", sql`(${t.kind} = 'machine') = (${t.secretHash} is not null)`),
  ],
);

/**
 * Opaque refresh tokens, stored as SHA-256 hashes. Each use rotates the token within its
 * family; presenting a token that was already rotated revokes the whole family.
 */
export const refreshTokens = authSchema.table(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    familyId: text("family_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    clientId: text("client_id")
      .notNull()
      .references(() => clients.id),
    tokenHash: text("token_hash").notNull(),
    scope: text("scope").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    rotatedAt: timestamp("rotated_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    revokeReason: text("revoke_reason"),
  },
  (t) => [uniqueIndex("refresh_tokens_hash_key").on(t.tokenHash), index("refresh_tokens_family_idx").on(t.familyId)],
);

/**
 * One-time authorization codes (authorization code flow with PKCE), stored as SHA-256 hashes.
 * A code is exchanged once within its minute; a second exchange revokes the refresh-token
 * family the first one started (RFC 6749 §4.1.2).
 */
export const authorizationCodes = authSchema.table(
  "authorization_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    clientId: text("client_id")
      .notNull()
      .references(() => clients.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    redirectUri: text("redirect_uri").notNull(),
    codeChallenge: text("code_challenge").notNull(),
    scope: text("scope").notNull(),
    nonce: text("nonce"),
    authTime: timestamp("auth_time", { withTimezone: true }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    /** The refresh-token family the exchange started: revoked if the code is presented again. */
    familyId: text("family_id"),
  },
  (t) => [index("authorization_codes_expires_idx").on(t.expiresAt)],
);

/**
 * Token signing keys. `next` is published before it signs (caches learn it early), `current`
 * signs, `previous` stays published until every token it signed has expired, then `retired`.
 * Private keys are AES-GCM encrypted with a key-encryption key from a Workers secret.
 */
export const signingKeys = authSchema.table(
  "signing_keys",
  {
    kid: text("kid").primaryKey(),
    status: text("status", { enum: ["next", "current", "previous", "retired"] }).notNull(),
    alg: text("alg").notNull(),
    publicJwk: jsonb("public_jwk").$type<Record<string, unknown>>().notNull(),
    /** base64url(iv ‖ ciphertext) of the private JWK; the kid is the additional data. */
    privateJwkEncrypted: text("private_jwk_encrypted").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    activatedAt: timestamp("activated_at", { withTimezone: true }),
    /** For `previous`: the moment after which no token it signed can still be valid. */
    retireAfter: timestamp("retire_after", { withTimezone: true }),
    retiredAt: timestamp("retired_at", { withTimezone: true }),
    version: integer("version").notNull().default(0),
  },
  (t) => [
    check("signing_keys_status_known", sql`${t.status} in ('next', 'current', 'previous', 'retired')`),
    // At most one current and one next key at any time.
    uniqueIndex("signing_keys_one_current").on(t.status).where(sql`${t.status} = 'current'`),
    uniqueIndex("signing_keys_one_next").on(t.status).where(sql`${t.status} = 'next'`),
  ],
);

/** Who did what to keys and clients (rotation on request, revocations): kept forever. */
export const auditLog = authSchema.table("audit_log", {
  id: text("id").primaryKey(),
  actor: text("actor").notNull(),
  action: text("action").notNull(),
  subject: text("subject").notNull(),
  details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
  at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
});
