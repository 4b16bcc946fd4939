import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

/** A test issuer: ES256 keys with kids, and a way to mint tokens exactly as the auth service does. */
export async function testKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  return { kid, privateKey, publicKey, publicJwk };
}

export type TestKey = Awaited<ReturnType<typeof testKey>>;

export const issuer = "https://auth.edgebank.test";
export const audience = "edgebank-api";

export function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer,
    aud: audience,
    sub: "usr_alice",
    scope: "accounts:read transfers:write",
    client_id: "cli_web",
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 900,
    ...overrides,
  };
}

export function mint(key: TestKey, payload: JWTPayload = claims(), header: Record<string, unknown> = {}) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: key.kid, ...header })
    .sign(key.privateKey);
}

export function base64url(value: string | Uint8Array): string {
  const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
  return Buffer.from(bytes).toString("base64url");
}
