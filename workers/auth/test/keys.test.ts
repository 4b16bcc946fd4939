import { env } from "cloudflare:workers";
import type { Database } from "@edgebank/db";
import { sql } from "drizzle-orm";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { importKek } from "../src/domain/key-encryption.ts";
import { publishedJwks } from "../src/domain/signing-keys.ts";
import { runKeyMaintenance } from "../src/scheduled.ts";
import {
  call,
  form,
  json,
  jwks,
  login,
  query,
  register,
  registerWithRole,
  verifyWithPublishedKeys,
  withAuthDb,
} from "./helpers.ts";

describe("JWKS and discovery", () => {
  it("publishes next, current and previous keys with a cache lifetime", async () => {
    await register(); // the first token request creates the keys
    await login((await register()).email);
    const response = await call("/.well-known/jwks.json");
    expect(response.headers.get("cache-control")).toBe("public, max-age=300, stale-while-revalidate=60");
    const { keys } = (await response.json()) as { keys: Array<Record<string, unknown>> };
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(key).not.toHaveProperty("d"); // never the private part
    }
  });

  it("publishes a current and a next key before anyone has signed in", async () => {
    // On a database without keys, inside a transaction that is rolled back: other tests
    // running beside this one keep the keys they sign with.
    const rolledBack = new Error("rolled back");
    const kek = await importKek(env.SIGNING_KEY_KEK);
    const published = await withAuthDb((db) =>
      db
        .transaction(async (tx) => {
          await tx.execute(sql`delete from auth.signing_keys`);
          const first = await publishedJwks(tx as unknown as Database, kek);
          const again = await publishedJwks(tx as unknown as Database, kek);
          const statuses = await tx.execute(sql`select status from auth.signing_keys order by status`);
          throw Object.assign(rolledBack, { first, again, statuses });
        })
        .then(
          () => null,
          (error: unknown) => (error === rolledBack ? rolledBack : Promise.reject(error)),
        ),
    );
    const { first, again, statuses } = published as typeof rolledBack & {
      first: { keys: Array<{ kid?: string }> };
      again: { keys: Array<{ kid?: string }> };
      statuses: Array<{ status: string }>;
    };
    expect(first.keys).toHaveLength(2);
    expect(again.keys.map((key) => key.kid)).toEqual(first.keys.map((key) => key.kid));
    expect([...statuses].map((row) => row.status)).toEqual(["current", "next"]);
  });

  it("describes the issuer with the public URLs clients call", async () => {
    const metadata = (await (await call("/.well-known/openid-configuration")).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: env.TOKEN_ISSUER,
      jwks_uri: `${env.TOKEN_ISSUER}/.well-known/jwks.json`,
      token_endpoint: `${env.TOKEN_ISSUER}/v1/auth/token`,
      userinfo_endpoint: `${env.TOKEN_ISSUER}/v1/auth/userinfo`,
      revocation_endpoint: `${env.TOKEN_ISSUER}/v1/auth/revoke`,
      authorization_endpoint: `${env.TOKEN_ISSUER}/v1/auth/authorize`,
      code_challenge_methods_supported: ["S256"],
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials", "password"],
      access_token_signing_alg_values_supported: ["ES256"],
    });
  });

  it("stores private keys encrypted, never in clear", async () => {
    await withAuthDb(async (db) => {
      const rows = (await db.execute(
        sql`select private_jwk_encrypted from auth.signing_keys limit 5`,
      )) as unknown as Array<{
        private_jwk_encrypted: string;
      }>;
      for (const row of rows) {
        expect(row.private_jwk_encrypted).not.toContain('"d"');
        expect(row.private_jwk_encrypted).toMatch(/^[A-Za-z0-9_-]+$/);
      }
    });
  });
});

describe("key rotation", () => {
  it("keeps old tokens valid until their key retires, and signs new ones with the next key", async () => {
    const operator = await registerWithRole("operator");
    const customer = await register();
    const before = (await login(customer.email)).access_token;
    const oldKid = decodeProtectedHeader(before).kid;

    const rotation = await call("/v1/auth/keys/rotate", {
      method: "POST",
      headers: { authorization: `Bearer ${operator.tokens.access_token}` },
    });
    expect(rotation.status).toBe(200);
    const rotated = (await rotation.json()) as { previous: string; current: string; next: string };
    expect(rotated.previous).toBe(oldKid);

    const published = (await jwks()).keys.map((k) => k.kid);
    expect(published).toEqual(expect.arrayContaining([rotated.previous, rotated.current, rotated.next]));
    await expect(verifyWithPublishedKeys(before)).resolves.toMatchObject({ sub: customer.user.id });
    const after = (await login(customer.email)).access_token;
    expect(decodeProtectedHeader(after).kid).toBe(rotated.current);

    // Once every token the old key signed has expired, maintenance retires it.
    await query(
      sql`update auth.signing_keys set retire_after = now() - interval '1 second' where kid = ${rotated.previous}`,
    );
    const outcome = await runKeyMaintenance(env);
    expect(outcome.retired).toContain(rotated.previous);
    expect((await jwks()).keys.map((k) => k.kid)).not.toContain(rotated.previous);
    await expect(verifyWithPublishedKeys(before)).rejects.toThrow();
    await expect(verifyWithPublishedKeys(after)).resolves.toBeTruthy();
  });

  it("rotates on schedule when the current key has signed for a whole interval", async () => {
    await login((await register()).email);
    await query(sql`update auth.signing_keys set activated_at = now() - interval '31 days' where status = 'current'`);
    const current = decodeProtectedHeader((await login((await register()).email)).access_token).kid;
    const outcome = await runKeyMaintenance(env);
    expect(outcome.rotated).toBe(true);
    const next = decodeProtectedHeader((await login((await register()).email)).access_token).kid;
    expect(next).not.toBe(current);
    expect((await runKeyMaintenance(env)).rotated).toBe(false);
  });

  it("lets only operators rotate", async () => {
    const customer = await login((await register()).email);
    const response = await call("/v1/auth/keys/rotate", {
      method: "POST",
      headers: { authorization: `Bearer ${customer.access_token}` },
    });
    expect(response.status).toBe(403);
  });
});

describe("client_credentials", () => {
  it("issues tokens to a machine client with its granted scopes only", async () => {
    const operator = await registerWithRole("operator");
    const created = await call(
      "/v1/auth/clients",
      json(
        { name: "merchant back end", scopes: ["payments:write", "payments:read"] },
        { authorization: `Bearer ${operator.tokens.access_token}` },
      ),
    );
    expect(created.status).toBe(201);
    const { client_id, client_secret } = (await created.json()) as { client_id: string; client_secret: string };

    const basic = `Basic ${btoa(`${client_id}:${client_secret}`)}`;
    const token = await call(
      "/v1/auth/token",
      form({ grant_type: "client_credentials", scope: "payments:write" }, { authorization: basic }),
    );
    expect(token.status).toBe(200);
    const body = (await token.json()) as { access_token: string; refresh_token?: string; scope: string };
    expect(body.scope).toBe("payments:write");
    expect(body.refresh_token).toBeUndefined();
    expect(await verifyWithPublishedKeys(body.access_token)).toMatchObject({ sub: client_id, client_id });

    const tooMuch = await call(
      "/v1/auth/token",
      form({ grant_type: "client_credentials", client_id, client_secret, scope: "operator" }),
    );
    expect(tooMuch.status).toBe(400);
    const wrongSecret = await call(
      "/v1/auth/token",
      form({ grant_type: "client_credentials", client_id, client_secret: "guess" }),
    );
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ error: "invalid_client" });
  });

  it("refuses client_credentials for the public app", async () => {
    const response = await call(
      "/v1/auth/token",
      form({ grant_type: "client_credentials", client_id: "edgebank-app" }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "unauthorized_client" });
  });
});

describe("key encryption", () => {
  it("says plainly when the KEK is not the one that sealed the keys", async () => {
    const { currentSigningKey } = await import("../src/domain/signing-keys.ts");
    const { importKek } = await import("../src/domain/key-encryption.ts");
    await withAuthDb(async (db) => {
      const wrongKek = await importKek("d3JvbmctZGV2ZWxvcG1lbnQta2V5LWVuY3J5cHRpb24");
      await expect(currentSigningKey(db, wrongKek)).rejects.toThrow(
        /cannot be decrypted: SIGNING_KEY_KEK is not the key that encrypted it/,
      );
    });
  });
});
