import { sql } from "drizzle-orm";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import {
  CLIENT_ID,
  call,
  form,
  json,
  login,
  PASSWORD,
  query,
  register,
  uniqueEmail,
  verifyWithPublishedKeys,
} from "./helpers.ts";

describe("POST /v1/auth/register", () => {
  it("creates a customer with a normalised email", async () => {
    const email = uniqueEmail("Mixed.Case");
    const response = await call(
      "/v1/auth/register",
      json({ email: `  ${email.toUpperCase()} `.trim(), password: PASSWORD }),
    );
    expect(response.status).toBe(201);
    const user = (await response.json()) as { id: string; email: string; role: string };
    expect(user).toMatchObject({ email: email.toLowerCase(), role: "customer" });
    expect(user.id).toMatch(/^usr_/);
  });

  it("refuses a second account with the same email, whatever its case", async () => {
    const { email } = await register();
    const response = await call("/v1/auth/register", json({ email: email.toUpperCase(), password: PASSWORD }));
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ code: "conflict" });
  });

  it("lets a business sign up as a merchant, whose tokens carry the merchant scopes; never as staff", async () => {
    const email = uniqueEmail("shop");
    const response = await call("/v1/auth/register", json({ email, password: PASSWORD, accountType: "merchant" }));
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ role: "merchant" });
    const tokens = await login(email);
    expect(tokens.scope.split(" ")).toEqual(
      expect.arrayContaining(["merchant:read", "merchant:write", "payments:write"]),
    );
    const staff = await call(
      "/v1/auth/register",
      json({ email: uniqueEmail(), password: PASSWORD, accountType: "operator" }),
    );
    expect(staff.status).toBe(400);
  });

  it.each([
    [{ email: "not-an-email", password: PASSWORD }, "/email"],
    [{ email: uniqueEmail(), password: "short" }, "/password"],
  ])("refuses invalid input with a 400 problem naming the field", async (body, pointer) => {
    const response = await call("/v1/auth/register", json(body));
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { code: string; errors: Array<{ pointer: string }> };
    expect(problem.code).toBe("validation_failed");
    expect(problem.errors.map((e) => e.pointer)).toContain(pointer);
  });
});

describe("password grant", () => {
  it("issues an ES256 at+jwt access token with every claim, and a refresh token", async () => {
    const { email, user } = await register();
    const tokens = await login(email);
    expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 900 });
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const header = decodeProtectedHeader(tokens.access_token);
    expect(header).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    expect(header.kid).toMatch(/^key_/);
    const claims = await verifyWithPublishedKeys(tokens.access_token);
    expect(claims).toMatchObject({ sub: user.id, client_id: CLIENT_ID, scope: tokens.scope });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(900);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(tokens.scope.split(" ")).toContain("transfers:write");
    expect(tokens.scope.split(" ")).not.toContain("operator");
  });

  it("answers a wrong password and an unknown email identically", async () => {
    const { email } = await register();
    const attempt = async (username: string) => {
      const started = performance.now();
      const response = await call(
        "/v1/auth/token",
        form({ grant_type: "password", username, password: "wrong password!", client_id: CLIENT_ID }),
      );
      const elapsed = performance.now() - started;
      const { requestId: _, ...body } = (await response.json()) as Record<string, unknown>;
      return { status: response.status, body, elapsed };
    };
    const wrongPassword = await attempt(email);
    const unknownEmail = await attempt(uniqueEmail("nobody"));
    expect(wrongPassword.status).toBe(400);
    expect(unknownEmail).toMatchObject({ status: wrongPassword.status, body: wrongPassword.body });
    expect(wrongPassword.body).toMatchObject({ error: "invalid_grant", detail: "The email or password is incorrect." });
    // Both paths run one full password hash; neither answers in a fraction of the other's time.
    expect(unknownEmail.elapsed).toBeGreaterThan(wrongPassword.elapsed * 0.5);
    expect(wrongPassword.elapsed).toBeGreaterThan(unknownEmail.elapsed * 0.5);
  });

  it("narrows the token to requested scopes and refuses scopes the role lacks", async () => {
    const { email } = await register();
    expect((await login(email, PASSWORD, { scope: "accounts:read" })).scope).toBe("accounts:read");
    const response = await call(
      "/v1/auth/token",
      form({
        grant_type: "password",
        username: email,
        password: PASSWORD,
        client_id: CLIENT_ID,
        scope: "accounts:read operator",
      }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_scope" });
  });

  it("accepts JSON as well as form encoding", async () => {
    const { email } = await register();
    const response = await call(
      "/v1/auth/token",
      json({ grant_type: "password", username: email, password: PASSWORD, client_id: CLIENT_ID }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("refuses an unknown client and an unknown grant type", async () => {
    const { email } = await register();
    const unknownClient = await call(
      "/v1/auth/token",
      form({ grant_type: "password", username: email, password: PASSWORD, client_id: "nope" }),
    );
    expect(unknownClient.status).toBe(401);
    expect(await unknownClient.json()).toMatchObject({ error: "invalid_client" });
    const unknownGrant = await call("/v1/auth/token", form({ grant_type: "implicit", client_id: CLIENT_ID }));
    expect(unknownGrant.status).toBe(400);
  });
});

describe("refresh_token grant", () => {
  const refresh = (token: string) =>
    call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: token, client_id: CLIENT_ID }));

  it("rotates: each refresh token works once and yields a new one", async () => {
    const { email, user } = await register();
    const first = await login(email);
    const response = await refresh(first.refresh_token ?? "");
    expect(response.status).toBe(200);
    const second = (await response.json()) as { access_token: string; refresh_token: string };
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await verifyWithPublishedKeys(second.access_token)).sub).toBe(user.id);
    expect((await refresh(second.refresh_token)).status).toBe(200);
  });

  it("revokes the whole family when a rotated token is used again", async () => {
    const { email } = await register();
    const stolen = (await login(email)).refresh_token ?? "";
    const legitimate = (await (await refresh(stolen)).json()) as { refresh_token: string };
    const replay = await refresh(stolen);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: "invalid_grant" });
    // The owner's newer token died with the family: both parties must log in again.
    expect((await refresh(legitimate.refresh_token)).status).toBe(400);
  });

  it("refuses a refresh token presented by another client", async () => {
    const { email } = await register();
    const token = (await login(email)).refresh_token ?? "";
    const response = await call(
      "/v1/auth/token",
      form({ grant_type: "refresh_token", refresh_token: token, client_id: "other-app" }),
    );
    expect(response.status).toBe(401);
  });
});

describe("revocation and logout", () => {
  it("revokes a refresh token's family, and answers 200 for unknown tokens (RFC 7009)", async () => {
    const { email } = await register();
    const tokens = await login(email);
    expect((await call("/v1/auth/revoke", form({ token: tokens.refresh_token ?? "" }))).status).toBe(200);
    const after = await call(
      "/v1/auth/token",
      form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token ?? "", client_id: CLIENT_ID }),
    );
    expect(after.status).toBe(400);
    expect((await call("/v1/auth/revoke", form({ token: "unknown-token" }))).status).toBe(200);
  });

  it("logs out of every session", async () => {
    const { email } = await register();
    const phone = await login(email);
    const laptop = await login(email);
    const response = await call(
      "/v1/auth/logout",
      json({ all: true }, { authorization: `Bearer ${laptop.access_token}` }),
    );
    expect(await response.json()).toEqual({ revoked: 2 });
    for (const session of [phone, laptop]) {
      const refreshed = await call(
        "/v1/auth/token",
        form({ grant_type: "refresh_token", refresh_token: session.refresh_token ?? "", client_id: CLIENT_ID }),
      );
      expect(refreshed.status).toBe(400);
    }
  });

  it("requires an access token to log out", async () => {
    const response = await call("/v1/auth/logout", json({ all: true }));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("Bearer");
  });
});

describe("ownership", () => {
  it("does not let one user log out another user's session", async () => {
    const alice = await register();
    const bob = await register();
    const aliceTokens = await login(alice.email);
    const bobTokens = await login(bob.email);
    const response = await call(
      "/v1/auth/logout",
      json({ refresh_token: bobTokens.refresh_token }, { authorization: `Bearer ${aliceTokens.access_token}` }),
    );
    expect(await response.json()).toEqual({ revoked: 0 });
    const stillValid = await call(
      "/v1/auth/token",
      form({ grant_type: "refresh_token", refresh_token: bobTokens.refresh_token ?? "", client_id: CLIENT_ID }),
    );
    expect(stillValid.status).toBe(200);
  });

  it("tells each caller about themselves only", async () => {
    const alice = await register();
    const tokens = await login(alice.email);
    const info = (await (
      await call("/v1/auth/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } })
    ).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ sub: alice.user.id, email: alice.email, role: "customer", client_id: CLIENT_ID });
  });
});

describe("per-account throttling", () => {
  const attempt = (username: string, password: string) =>
    call("/v1/auth/token", form({ grant_type: "password", username, password, client_id: CLIENT_ID }));

  it("locks an account after 5 failures in a row, refusing even the right password, identically", async () => {
    const { email } = await register();
    for (let i = 0; i < 5; i++) expect((await attempt(email, `wrong guess ${i}`)).status).toBe(400);
    const locked = await attempt(email, PASSWORD);
    expect(locked.status).toBe(400);
    const { requestId: _, ...lockedBody } = (await locked.json()) as Record<string, unknown>;
    const unknown = await attempt(uniqueEmail("nobody"), PASSWORD);
    const { requestId: __, ...unknownBody } = (await unknown.json()) as Record<string, unknown>;
    expect(lockedBody).toEqual(unknownBody);

    // When the lock has passed, the right password works and the count starts again.
    await query(sql`update auth.password_credentials set locked_until = now() - interval '1 second'
      where user_id = (select id from auth.users where email = ${email})`);
    expect((await attempt(email, PASSWORD)).status).toBe(200);
    expect((await attempt(email, "wrong again")).status).toBe(400);
    expect((await attempt(email, PASSWORD)).status).toBe(200);
  });

  it("does not lock an account for fewer than 5 failures", async () => {
    const { email } = await register();
    for (let i = 0; i < 4; i++) await attempt(email, "wrong");
    expect((await attempt(email, PASSWORD)).status).toBe(200);
  });
});
