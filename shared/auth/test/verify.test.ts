import { AppError } from "@edgebank/errors";
import { beforeAll, describe, expect, it } from "vitest";
import { bearerToken, JwksCache, verifyAccessToken } from "../src/index.ts";
import { audience, base64url, claims, issuer, mint, type TestKey, testKey } from "./tokens.ts";

let current: TestKey;
let retired: TestKey;
let stranger: TestKey;

beforeAll(async () => {
  [current, retired, stranger] = await Promise.all([testKey("k-current"), testKey("k-retired"), testKey("k-stranger")]);
});

function verifier() {
  const jwks = new JwksCache({
    fetchJwks: async () => ({ keys: [current.publicJwk] }),
    ttlMs: 300_000,
    unknownKidCooldownMs: 30_000,
    maxStaleMs: 3_600_000,
  });
  return (token: string, requiredScopes: Parameters<typeof verifyAccessToken>[1]["requiredScopes"] = []) =>
    verifyAccessToken(token, { jwks, issuer, audience, requiredScopes });
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

async function expectInvalid(promise: Promise<unknown>, detail: RegExp) {
  const error = await rejection(promise);
  expect(error.status).toBe(401);
  expect(error.code).toBe("unauthorized");
  expect(error.message).toMatch(detail);
  expect(error.headers["www-authenticate"]).toMatch(/^Bearer error="invalid_token"/);
}

describe("verifyAccessToken", () => {
  it("accepts a valid token and returns the principal", async () => {
    const principal = await verifier()(await mint(current), ["accounts:read"]);
    expect(principal).toMatchObject({ subject: "usr_alice", kind: "user", clientId: "cli_web" });
    expect([...principal.scopes]).toEqual(["accounts:read", "transfers:write"]);
  });

  it("refuses alg none", async () => {
    const token = `${base64url(JSON.stringify({ alg: "none", typ: "at+jwt", kid: "k-current" }))}.${base64url(JSON.stringify(claims()))}.`;
    await expectInvalid(verifier()(token), /algorithm|malformed|verified/);
  });

  it("refuses HS256 signed with the issuer's public key", async () => {
    const header = base64url(JSON.stringify({ alg: "HS256", typ: "at+jwt", kid: "k-current" }));
    const body = base64url(JSON.stringify(claims()));
    const secret = new TextEncoder().encode(JSON.stringify(current.publicJwk));
    const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const signature = new Uint8Array(
      await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${header}.${body}`)),
    );
    await expectInvalid(verifier()(`${header}.${body}.${base64url(signature)}`), /algorithm is not accepted/);
  });

  it("refuses an expired token, and one not valid yet, beyond the skew", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectInvalid(verifier()(await mint(current, claims({ iat: now - 1000, exp: now - 31 }))), /expired/);
    await expectInvalid(verifier()(await mint(current, claims({ nbf: now + 120 }))), /not valid yet/);
  });

  it("tolerates a small clock skew", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expect(verifier()(await mint(current, claims({ exp: now - 10 })))).resolves.toBeTruthy();
    await expect(verifier()(await mint(current, claims({ nbf: now + 10 })))).resolves.toBeTruthy();
  });

  it("refuses a wrong issuer and a wrong audience", async () => {
    await expectInvalid(verifier()(await mint(current, claims({ iss: "https://evil.example" }))), /claim iss/);
    await expectInvalid(verifier()(await mint(current, claims({ aud: "another-api" }))), /claim aud/);
  });

  it("refuses a token signed by a key the issuer does not publish, or no longer publishes", async () => {
    await expectInvalid(verifier()(await mint(stranger)), /unknown key/);
    await expectInvalid(verifier()(await mint(retired)), /unknown key/);
    // A known kid with a forged signature is not saved by the kid.
    await expectInvalid(verifier()(await mint(stranger, claims(), { kid: "k-current" })), /signature/);
  });

  it("refuses a tampered payload", async () => {
    const [header, , signature] = (await mint(current)).split(".");
    const forged = base64url(JSON.stringify(claims({ sub: "usr_mallory", scope: "operator" })));
    await expectInvalid(verifier()(`${header}.${forged}.${signature}`), /signature/);
  });

  it("refuses tokens that are not access tokens or lack required claims", async () => {
    await expectInvalid(verifier()(await mint(current, claims(), { typ: "JWT" })), /claim typ|not acceptable/);
    const { jti: _, ...withoutJti } = claims();
    await expectInvalid(verifier()(await mint(current, withoutJti)), /claim jti/);
    const { client_id: __, ...withoutClient } = claims();
    await expectInvalid(verifier()(await mint(current, withoutClient)), /claim client_id/);
  });

  it("answers a missing scope with 403 insufficient_scope", async () => {
    const error = await rejection(verifier()(await mint(current), ["operator"]));
    expect(error.status).toBe(403);
    expect(error.headers["www-authenticate"]).toBe(
      'Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="operator"',
    );
  });

  it("reports an unreachable issuer as 503, not as the caller's fault", async () => {
    const jwks = new JwksCache({
      fetchJwks: () => Promise.reject(new Error("auth down")),
      ttlMs: 1,
      unknownKidCooldownMs: 1,
      maxStaleMs: 1,
    });
    const error = await rejection(verifyAccessToken(await mint(current), { jwks, issuer, audience }));
    expect(error.status).toBe(503);
  });
});

describe("bearerToken", () => {
  it("asks for a token when none is sent", () => {
    expect(() => bearerToken(undefined)).toThrow("An access token is required.");
  });

  it.each(["Basic dXNlcjpwdw==", "Bearer", "Bearer not-a-jwt", "bearer a.b.c", "Bearer a.b.c extra"])(
    "refuses the malformed header %j",
    (header) => {
      expect(() => bearerToken(header)).toThrow(/not a Bearer token/);
    },
  );

  it("extracts a compact JWS", () => {
    expect(bearerToken("Bearer aaa.bbb.ccc")).toBe("aaa.bbb.ccc");
  });
});
