import { env } from "cloudflare:workers";
import type { TestSigningKey } from "@edgebank/auth/testing";
import type { JWK } from "jose";

/** An ES256 key pair for the fake issuer, with its public JWK as auth publishes it. */
export async function issuerKey(kid: string): Promise<TestSigningKey & { publicJwk: JWK }> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  return {
    kid,
    privateKey: pair.privateKey,
    publicJwk: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, kid, alg: "ES256", use: "sig" },
  };
}

/** Publishes a JWKS through the fake auth service. */
export async function publish(keys: JWK[]): Promise<void> {
  await env.CONTROL.fetch("http://control/", { method: "POST", body: JSON.stringify({ jwks: { keys } }) });
}

export function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: "usr_alice",
    scope: "accounts:read accounts:write transfers:read transfers:write",
    client_id: "edgebank-app",
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 900,
    ...overrides,
  };
}
