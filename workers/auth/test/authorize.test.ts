import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { call, form, PASSWORD, query, register, registerWithRole, verifyWithPublishedKeys } from "./helpers.ts";

const WEB = { clientId: "edgebank-app", redirectUri: `${env.TOKEN_ISSUER}/app/callback` };
const MOBILE = { clientId: "edgebank-mobile", redirectUri: "dev.edgebank.app:/oauth/callback" };
const CONSOLE = { clientId: "edgebank-console", redirectUri: `${env.TOKEN_ISSUER}/console/callback` };

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** A PKCE pair as a client makes it (RFC 7636 §4.1-4.2, S256). */
async function pkce() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  return { verifier, challenge };
}

function authorizeParameters(
  client: { clientId: string; redirectUri: string },
  challenge: string,
  extra: Record<string, string> = {},
) {
  return {
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    scope: "openid accounts:read",
    state: crypto.randomUUID(),
    nonce: crypto.randomUUID(),
    ...extra,
  };
}

/** Signs in on the authorization page; the redirect the browser would follow. */
async function signIn(parameters: Record<string, string>, email: string, password = PASSWORD) {
  const response = await call("/v1/auth/authorize", {
    ...form({ ...parameters, email, password }),
    redirect: "manual",
  });
  return {
    response,
    location: response.headers.get("location") ? new URL(response.headers.get("location") ?? "") : undefined,
  };
}

function exchange(client: { clientId: string; redirectUri: string }, code: string, verifier: string) {
  return call(
    "/v1/auth/token",
    form({
      grant_type: "authorization_code",
      code,
      redirect_uri: client.redirectUri,
      client_id: client.clientId,
      code_verifier: verifier,
    }),
  );
}

describe("authorization code with PKCE", () => {
  it("shows an accessible sign-in page that carries the request", async () => {
    const { challenge } = await pkce();
    const parameters = authorizeParameters(WEB, challenge);
    const response = await call(`/v1/auth/authorize?${new URLSearchParams(parameters)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const policy = response.headers.get("content-security-policy") ?? "";
    expect(policy).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; form-action 'self' https?:\/\/[^;]+;/,
    );
    expect(policy).toContain("frame-ancestors 'none'");
    const page = await response.text();
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('<label for="email">Email</label>');
    expect(page).toContain('<label for="password">Password</label>');
    expect(page).toContain(`name="state" value="${parameters.state}"`);
    expect(page).toContain("edgebank web app");
  });

  it("sends a one-time code to the web app, which gets tokens and an ID token for its verifier", async () => {
    const { email, user } = await register();
    const { verifier, challenge } = await pkce();
    const parameters = authorizeParameters(WEB, challenge);
    const { response, location } = await signIn(parameters, email);
    expect(response.status).toBe(303);
    expect(`${location?.origin}${location?.pathname}`).toBe(WEB.redirectUri);
    expect(location?.searchParams.get("state")).toBe(parameters.state);
    expect(location?.searchParams.get("iss")).toBe(env.TOKEN_ISSUER);
    const code = location?.searchParams.get("code") ?? "";

    const tokens = await exchange(WEB, code, verifier);
    expect(tokens.status).toBe(200);
    const body = (await tokens.json()) as {
      access_token: string;
      refresh_token: string;
      id_token: string;
      scope: string;
    };
    expect(body.scope).toBe("openid accounts:read");
    expect((await verifyWithPublishedKeys(body.access_token)).scope).toBe("accounts:read");
    const idToken = await verifyWithPublishedKeys(body.id_token).catch((error: unknown) => error);
    // The ID token's audience is the client, not the API: a resource server must refuse it.
    expect(idToken).toBeInstanceOf(Error);
    expect(decodeProtectedHeader(body.id_token)).toMatchObject({ alg: "ES256", typ: "JWT" });
    const claims = JSON.parse(
      atob((body.id_token.split(".")[1] ?? "").replaceAll("-", "+").replaceAll("_", "/")),
    ) as Record<string, unknown>;
    expect(claims).toMatchObject({
      iss: env.TOKEN_ISSUER,
      sub: user.id,
      aud: WEB.clientId,
      azp: WEB.clientId,
      nonce: parameters.nonce,
      email,
    });
    expect(typeof claims.auth_time).toBe("number");

    // The refresh token rotates as after any sign-in.
    const refreshed = await call(
      "/v1/auth/token",
      form({ grant_type: "refresh_token", refresh_token: body.refresh_token, client_id: WEB.clientId }),
    );
    expect(refreshed.status).toBe(200);
  });

  it("serves a mobile app on its own scheme and on a loopback port of its choosing", async () => {
    const { email } = await register();
    for (const redirectUri of [MOBILE.redirectUri, "http://127.0.0.1:49152/oauth/callback"]) {
      const client = { clientId: MOBILE.clientId, redirectUri };
      const { verifier, challenge } = await pkce();
      const { response, location } = await signIn(authorizeParameters(client, challenge), email);
      expect(response.status, redirectUri).toBe(303);
      expect(response.headers.get("location")?.startsWith(`${redirectUri}?`)).toBe(true);
      expect((await exchange(client, location?.searchParams.get("code") ?? "", verifier)).status).toBe(200);
    }
  });
});

describe("the operator console's sign-in", () => {
  it("gives the console, which asks for no API scope, the signed-in role's scopes; only at its own callback", async () => {
    for (const role of ["operator", "auditor"] as const) {
      const { email } = await registerWithRole(role);
      const { verifier, challenge } = await pkce();
      const { response, location } = await signIn(authorizeParameters(CONSOLE, challenge, { scope: "openid" }), email);
      expect(response.status, role).toBe(303);
      expect(`${location?.origin}${location?.pathname}`).toBe(CONSOLE.redirectUri);
      const tokens = (await (await exchange(CONSOLE, location?.searchParams.get("code") ?? "", verifier)).json()) as {
        scope: string;
      };
      expect(tokens.scope.split(" "), role).toContain(role);
    }
    const { challenge } = await pkce();
    const elsewhere = { ...CONSOLE, redirectUri: `${env.TOKEN_ISSUER}/app/callback` };
    const refused = await call(`/v1/auth/authorize?${new URLSearchParams(authorizeParameters(elsewhere, challenge))}`);
    expect(refused.status).toBe(400);
    expect(refused.headers.get("location")).toBeNull();
  });
});

describe("authorization code with PKCE: refusals", () => {
  const oauthError = async (response: Response) => ((await response.json()) as { error: string }).error;

  it("never redirects for an unknown client or an unregistered redirect URI", async () => {
    const { challenge } = await pkce();
    for (const parameters of [
      authorizeParameters({ ...WEB, clientId: "no-such-app" }, challenge),
      authorizeParameters({ ...WEB, redirectUri: "https://evil.example/app/callback" }, challenge),
      authorizeParameters({ ...WEB, redirectUri: `${WEB.redirectUri}/more` }, challenge),
      authorizeParameters({ ...MOBILE, redirectUri: "http://localhost:8080/oauth/callback" }, challenge),
      authorizeParameters({ ...MOBILE, redirectUri: `${MOBILE.redirectUri}#fragment` }, challenge),
    ]) {
      const response = await call(`/v1/auth/authorize?${new URLSearchParams(parameters)}`);
      expect(response.status, parameters.redirect_uri).toBe(400);
      expect(response.headers.get("location")).toBeNull();
      expect(await response.text()).toContain('role="alert"');
    }
  });

  it("sends a request without PKCE S256 back with invalid_request and its state", async () => {
    const { challenge } = await pkce();
    const faults: Array<Record<string, string>> = [
      { code_challenge_method: "plain" },
      { code_challenge: "" },
      { response_type: "token" },
    ];
    for (const extra of faults) {
      const parameters = authorizeParameters(WEB, challenge, extra);
      const response = await call(`/v1/auth/authorize?${new URLSearchParams(parameters)}`, { redirect: "manual" });
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get("location") ?? "");
      expect(location.searchParams.get("error")).toMatch(/^(invalid_request|unsupported_response_type)$/);
      expect(location.searchParams.get("state")).toBe(parameters.state);
      expect(location.searchParams.get("code")).toBeNull();
    }
  });

  it("shows the page again, with the reason announced, for a wrong password; no code is issued", async () => {
    const { email } = await register();
    const { challenge } = await pkce();
    const { response } = await signIn(authorizeParameters(WEB, challenge), email, "not the password");
    expect(response.status).toBe(401);
    expect(response.headers.get("location")).toBeNull();
    const page = await response.text();
    expect(page).toMatch(/<p id="sign-in-error" role="alert">The email or password is incorrect/);
    expect(page).toContain(`value="${email}"`);
  });

  it("refuses scopes beyond the user's role at the redirect URI", async () => {
    const { email } = await register();
    const { challenge } = await pkce();
    const { location } = await signIn(authorizeParameters(WEB, challenge, { scope: "openid operator" }), email);
    expect(location?.searchParams.get("error")).toBe("invalid_scope");
    expect(location?.searchParams.get("code")).toBeNull();
  });

  it("exchanges a code once, for its verifier, client and redirect URI, within its minute", async () => {
    const { email } = await register();
    const codeFor = async () => {
      const pair = await pkce();
      const { location } = await signIn(authorizeParameters(WEB, pair.challenge), email);
      return { ...pair, code: location?.searchParams.get("code") ?? "" };
    };

    const wrongVerifier = await codeFor();
    expect(await oauthError(await exchange(WEB, wrongVerifier.code, (await pkce()).verifier))).toBe("invalid_grant");
    // A failed exchange used the code up: the right verifier comes too late.
    expect(await oauthError(await exchange(WEB, wrongVerifier.code, wrongVerifier.verifier))).toBe("invalid_grant");

    const otherClient = await codeFor();
    expect(
      await oauthError(
        await exchange({ ...MOBILE, redirectUri: WEB.redirectUri }, otherClient.code, otherClient.verifier),
      ),
    ).toBe("invalid_grant");

    const expired = await codeFor();
    await query(sql`update auth.authorization_codes set expires_at = now() - interval '1 second' where used_at is null
      and user_id = (select id from auth.users where email = ${email})`);
    expect(await oauthError(await exchange(WEB, expired.code, expired.verifier))).toBe("invalid_grant");
  });

  it("revokes what a code's first exchange issued when the code is presented again", async () => {
    const { email } = await register();
    const { verifier, challenge } = await pkce();
    const { location } = await signIn(authorizeParameters(WEB, challenge), email);
    const code = location?.searchParams.get("code") ?? "";
    const first = (await (await exchange(WEB, code, verifier)).json()) as { refresh_token: string };
    expect(await oauthError(await exchange(WEB, code, verifier))).toBe("invalid_grant");
    const refresh = await call(
      "/v1/auth/token",
      form({ grant_type: "refresh_token", refresh_token: first.refresh_token, client_id: WEB.clientId }),
    );
    expect(refresh.status).toBe(400);
  });

  it("keeps the password grant from clients not listed for it", async () => {
    const { email } = await register();
    const response = await call(
      "/v1/auth/token",
      form({ grant_type: "password", username: email, password: PASSWORD, client_id: MOBILE.clientId }),
    );
    expect(response.status).toBe(400);
    expect(await oauthError(response)).toBe("unauthorized_client");
  });
});
