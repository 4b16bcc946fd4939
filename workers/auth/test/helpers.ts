import { env, exports } from "cloudflare:workers";
import { type Database, withDatabase } from "@edgebank/db";
import { sql } from "drizzle-orm";
import { createLocalJWKSet, type JWTPayload, jwtVerify } from "jose";

export const CLIENT_ID = "edgebank-app";
export const PASSWORD = "correct horse battery staple";

export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`https://auth.internal${path}`, init));
}

export function json(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

export function form(params: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(params).toString(),
  };
}

export function uniqueEmail(label = "user"): string {
  return `${label}.${crypto.randomUUID()}@example.test`;
}

export async function register(email = uniqueEmail(), password = PASSWORD) {
  const response = await call("/v1/auth/register", json({ email, password }));
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${await response.text()}`);
  return { email, password, user: (await response.json()) as { id: string; email: string; role: string } };
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  scope: string;
  token_type: string;
}

export async function login(email: string, password = PASSWORD, extra: Record<string, string> = {}): Promise<Tokens> {
  const response = await call(
    "/v1/auth/token",
    form({ grant_type: "password", username: email, password, client_id: CLIENT_ID, ...extra }),
  );
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as Tokens;
}

/** Runs `work` with a client of the auth test database. */
export function withAuthDb<T>(work: (db: Database) => Promise<T>): Promise<T> {
  return withDatabase(
    { driver: "hyperdrive", connectionString: env.AUTH_DB.connectionString, prepare: env.DB_PREPARE === "true" },
    work,
  );
}

/** Runs SQL against the auth test database (to set up roles or move time for keys). */
export async function query(statement: ReturnType<typeof sql>): Promise<void> {
  await withAuthDb((db) => db.execute(statement));
}

export async function registerWithRole(role: "operator" | "auditor" | "merchant") {
  const account = await register(uniqueEmail(role));
  await query(sql`update auth.users set role = ${role} where id = ${account.user.id}`);
  return { ...account, tokens: await login(account.email) };
}

export async function jwks() {
  return (await (await call("/.well-known/jwks.json")).json()) as { keys: Array<{ kid: string }> };
}

/** Verifies a token the way any relying party does: against the published JWKS. */
export async function verifyWithPublishedKeys(token: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks()), {
    issuer: env.TOKEN_ISSUER,
    audience: env.TOKEN_AUDIENCE,
    algorithms: ["ES256"],
    typ: "at+jwt",
  });
  return payload;
}
