import { env, exports } from "cloudflare:workers";
import { signToken, type TestSigningKey } from "@edgebank/auth/testing";

async function importTestKey(json: string): Promise<TestSigningKey> {
  const jwk = JSON.parse(json) as JsonWebKey & { kid: string };
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  return { kid: jwk.kid, privateKey };
}

export const currentKey = () => importTestKey(env.TEST_SIGNING_JWK);
export const retiredKey = () => importTestKey(env.TEST_RETIRED_JWK);

export function claims(subject: string, scope: string) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: subject,
    scope,
    client_id: "edgebank-app",
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 900,
  };
}

export const CUSTOMER = "accounts:read accounts:write transfers:read transfers:write";

/** A caller: a fresh user id and an access token for it. */
export async function customer(scope = CUSTOMER) {
  const id = `usr_test_${crypto.randomUUID().replaceAll("-", "")}`;
  return { id, token: await signToken(await currentKey(), claims(id, scope)) };
}

export function call(path: string, token: string | undefined, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  return exports.default.fetch(new Request(`https://accounts.internal${path}`, { ...init, headers }));
}

export async function openAccount(
  token: string,
  currency = "EUR",
): Promise<{ id: string; ownerId: string; currency: string }> {
  const response = await call("/v1/accounts", token, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ currency }),
  });
  if (response.status !== 201) throw new Error(`open failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; ownerId: string; currency: string };
}
