import { readFileSync } from "node:fs";
import { createEdgebankClient, idempotencyKey, ProblemError, signInWithPassword, unwrap } from "@edgebank/client";
import { publicRouteOf, publicRoutes } from "@edgebank/contracts/public-routes";
import * as oidc from "openid-client";
import { describe, expect, it } from "vitest";
import { documentText, normalizeDocument } from "../../shared/client/scripts/document.ts";
import { typesOf } from "../../shared/client/scripts/generate.ts";
import { contractViolation, validatingFetch } from "./api-contract.ts";
import { type DevStack, fetchFrom, register } from "./dev-stack.ts";

interface Operation {
  parameters?: Array<{ name: string; in: string; required?: boolean; description?: string }>;
  responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
  security?: Array<Record<string, string[]>>;
}
type Document = { paths: Record<string, Record<string, Operation>> } & Record<string, unknown>;

const committedFile = new URL("../../shared/client/openapi.json", import.meta.url);
const typesFile = new URL("../../shared/client/src/schema.d.ts", import.meta.url);

/**
 * The public API as a client developer meets it: the gateway's OpenAPI document (the same as
 * the committed one the typed client is generated from), discovery naming URLs the client
 * can reach, and the typed client itself against the running stack.
 */
export function describePublicApi(stack: () => DevStack): void {
  const operations = (document: Document) =>
    Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ method, path, operation })),
    );
  const live = async () => (await (await validatingFetch(`${stack().url}/openapi.json`)).json()) as Document;

  describe("the public API", () => {
    it("is described at /openapi.json exactly as the committed document the client is generated from", async () => {
      const committed = readFileSync(committedFile, "utf8");
      expect(
        documentText(normalizeDocument(await live(), stack().url)),
        "the API changed: run npm run client:generate against npm run dev and commit the result",
      ).toBe(committed);
      expect(await typesOf(JSON.parse(committed)), "src/schema.d.ts is stale: npm run client:generate").toBe(
        readFileSync(typesFile, "utf8"),
      );
    });

    it("documents every public route, as the gateway treats it", async () => {
      const document = await live();
      // The gateway's own operations (probes, this document) are no public route of a service.
      const documented = operations(document).filter(({ path }) => !/^\/(health|ready|openapi\.json)/.test(path));
      const routed = new Set(documented.map(({ method, path }) => publicRouteOf(method, path)));
      expect(publicRoutes.filter((route) => !routed.has(route)).map((r) => `${r.method} ${r.path}`)).toEqual([]);
      for (const { method, path, operation } of documented) {
        const route = publicRouteOf(method, path);
        const where = `${method} ${path}`;
        expect(route, where).toBeDefined();
        if (!route) continue;
        expect(operation.responses.default?.content, where).toHaveProperty(["application/problem+json"]);
        expect(operation.responses["429"]?.headers, where).toHaveProperty("Retry-After");
        const key = operation.parameters?.find((p) => p.in === "header" && p.name === "Idempotency-Key");
        // The edge's replay cache exactly where the gateway keeps one; elsewhere a key is the
        // service's own (an operator action's operation id), never promised replays.
        if (route.idempotent) expect(key, `${where}: Idempotency-Key`).toMatchObject({ required: true });
        expect(key?.description?.includes("Idempotent-Replayed") ?? false, where).toBe(Boolean(route.idempotent));
        if (route.access === "public") expect(operation.security, where).toEqual([]);
        else {
          expect(operation.security?.length, where).toBeGreaterThan(0);
          expect(operation.responses["401"], where).toBeDefined();
        }
        if (typeof route.access === "object")
          expect(operation.security?.flatMap((requirement) => Object.values(requirement).flat()).sort(), where).toEqual(
            [...route.access.anyOf, ...route.access.anyOf].sort(),
          );
      }
    });

    it("checks answers against the document: an undeclared status or a body off its schema is caught", async () => {
      const json = (status: number, body: unknown, type = "application/json") =>
        new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
      const url = "http://edge.test/v1/accounts/acc_x";
      const account = {
        id: "acc_x",
        ownerId: "usr_x",
        kind: "customer",
        name: "Main",
        currency: "EUR",
        status: "active",
        createdAt: "2026-12-06T00:00:00Z",
      };
      expect(await contractViolation("GET", url, json(200, account))).toBeUndefined();
      expect(await contractViolation("GET", url, json(200, { ...account, status: "gone" }))).toMatch(/schema/);
      expect(await contractViolation("GET", url, json(200, { id: "acc_x" }))).toMatch(/does not match its schema/);
      // Any other status falls to `default`, which is a problem document and nothing else (also
      // labelled application/json, for clients that accept nothing else).
      expect(await contractViolation("GET", url, json(418, account))).toMatch(/does not match its schema/);
      expect(await contractViolation("GET", url, json(418, account, "text/html"))).toMatch(
        /declared: application\/problem\+json, application\/json/,
      );
      expect(await contractViolation("DELETE", url, json(200, {}))).toMatch(/not in the API document/);
      const problem = {
        type: "https://edgebank.dev/problems/not_found",
        title: "Not found",
        status: 404,
        detail: "No such account.",
        instance: "/v1/accounts/acc_x",
        code: "not_found",
        requestId: "req_1",
      };
      expect(await contractViolation("GET", url, json(404, problem, "application/problem+json"))).toBeUndefined();
      expect(await contractViolation("GET", url, json(404, { error: "nope" }, "application/problem+json"))).toMatch(
        /does not match its schema/,
      );
    });

    it("names in its discovery document only URLs a client can reach", async () => {
      const base = stack().url;
      const metadata = (await (await validatingFetch(`${base}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >;
      expect(metadata.issuer).toBe(base);
      const endpoints = Object.entries(metadata).filter(([name]) => name.endsWith("_endpoint") || name === "jwks_uri");
      expect(endpoints.map(([name]) => name)).toEqual(
        expect.arrayContaining(["jwks_uri", "token_endpoint", "userinfo_endpoint", "revocation_endpoint"]),
      );
      for (const [name, value] of endpoints) expect(String(value), name).toMatch(new RegExp(`^${base}/`));
      const jwks = (await (await validatingFetch(String(metadata.jwks_uri))).json()) as { keys: unknown[] };
      expect(jwks.keys.length).toBeGreaterThanOrEqual(2);
    });

    it("signs an app in with openid-client: discovery, code with PKCE, token, userinfo, refresh, revoke", async () => {
      const base = stack().url;
      const email = `oidc.${Date.now()}@example.test`;
      const password = "a passphrase for openid-client";
      // Its own client address throughout: the credentials endpoints are limited per client IP.
      const fetch = fetchFrom("192.0.2.62");
      expect((await register(base, email, password, "192.0.2.62")).status).toBe(201);

      // A local stack is served over http; a deployed issuer is https only.
      const config = await oidc.discovery(
        new URL(base),
        "edgebank-app",
        { id_token_signed_response_alg: "ES256" },
        oidc.None(),
        { execute: [oidc.allowInsecureRequests] },
      );
      // The same address for the library's own calls (token, userinfo, revocation).
      config[oidc.customFetch] = (url, options) => fetch(url, options as RequestInit);
      const redirectUri = `${base}/app/callback`;
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const authorization = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: "openid accounts:read",
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        state,
        nonce,
      });

      // The browser's part: the sign-in page, then the form it posts.
      const page = await fetch(authorization);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<form method="post" action="/v1/auth/authorize"');
      const signedIn = await fetch(`${base}/v1/auth/authorize`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...Object.fromEntries(authorization.searchParams), email, password }),
        redirect: "manual",
      });
      expect(signedIn.status).toBe(303);
      const callback = new URL(signedIn.headers.get("location") ?? "");
      expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri);

      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      expect(claims).toMatchObject({ iss: base, aud: "edgebank-app", nonce });
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims?.sub ?? "");
      expect(userinfo).toMatchObject({ sub: claims?.sub, email, role: "customer" });

      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? "");
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      await oidc.tokenRevocation(config, refreshed.refresh_token ?? "", { token_type_hint: "refresh_token" });
      await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token ?? "")).rejects.toMatchObject({
        error: "invalid_grant",
      });
    });

    it("is what the typed client calls: sign in, open an account, a refused transfer as a problem", async () => {
      const baseUrl = stack().url;
      const email = `client.${Date.now()}@example.test`;
      const password = "a passphrase for the typed client";
      const fetch = fetchFrom("192.0.2.61");
      const api = createEdgebankClient({ baseUrl, fetch });
      await unwrap(api.POST("/v1/auth/register", { body: { email, password } }));
      const session = await signInWithPassword({ baseUrl, clientId: "edgebank-app", username: email, password, fetch });
      const customer = createEdgebankClient({ baseUrl, session, fetch });

      const open = () =>
        unwrap(
          customer.POST("/v1/accounts", {
            params: { header: { "Idempotency-Key": idempotencyKey() } },
            body: { currency: "EUR" },
          }),
        );
      const [from, to] = [await open(), await open()];
      expect(from.currency).toBe("EUR");
      const transfer = customer.POST("/v1/transfers", {
        params: { header: { "Idempotency-Key": idempotencyKey() } },
        body: { fromAccountId: from.id, toAccountId: to.id, amount: "500", currency: "EUR", description: "rent" },
      });
      const refusal = await unwrap(transfer).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(ProblemError);
      expect(refusal).toMatchObject({ status: 422, problem: { reason: "insufficient_funds" } });

      // A refresh rotates the tokens; the client goes on with the new access token.
      const before = session.tokens.refresh_token;
      await session.refresh();
      expect(session.tokens.refresh_token).not.toBe(before);
      const accounts = await unwrap(customer.GET("/v1/accounts"));
      expect(accounts.items.map((account) => account.id).sort()).toEqual([from.id, to.id].sort());
    });
  });
}
