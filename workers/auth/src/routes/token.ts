import { type Role, scopesByRole } from "@edgebank/auth";
import { AppError, validationError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import type { ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { authConfig } from "../config.ts";
import { recordFamily, redeemCode } from "../domain/authorization.ts";
import { authenticateClient, authenticateUser, findUser, narrowScope } from "../domain/identity.ts";
import { importKek } from "../domain/key-encryption.ts";
import { splitOpenId } from "../domain/scopes.ts";
import { currentSigningKey } from "../domain/signing-keys.ts";
import { invalidGrant, issueRefreshToken, rotateRefreshToken, signAccessToken, signIdToken } from "../domain/tokens.ts";

const tokenRequest = z.discriminatedUnion("grant_type", [
  z.object({
    grant_type: z.literal("password"),
    username: z.string().min(1).max(320),
    password: z.string().min(1).max(1024),
    client_id: z.string().min(1).max(100),
    scope: z.string().max(1000).optional(),
  }),
  z.object({
    grant_type: z.literal("authorization_code"),
    code: z.string().min(1).max(200),
    redirect_uri: z.string().min(1).max(2000),
    client_id: z.string().min(1).max(100),
    code_verifier: z.string().regex(/^[A-Za-z0-9._~-]{43,128}$/, "an RFC 7636 code verifier"),
  }),
  z.object({
    grant_type: z.literal("refresh_token"),
    refresh_token: z.string().min(1).max(200),
    client_id: z.string().min(1).max(100),
  }),
  z.object({
    grant_type: z.literal("client_credentials"),
    client_id: z.string().min(1).max(100).optional(),
    client_secret: z.string().min(1).max(200).optional(),
    scope: z.string().max(1000).optional(),
  }),
]);

const tokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int(),
    refresh_token: z.string().optional(),
    scope: z.string(),
    id_token: z.string().optional().describe("OpenID Connect ID token, when the scope asked for openid"),
  })
  .openapi("TokenResponse");

const route = createRoute({
  method: "post",
  path: "/v1/auth/token",
  tags: ["auth"],
  summary: "OAuth 2.0 token endpoint: authorization_code (PKCE), refresh_token, client_credentials, password grants",
  description:
    "Form-encoded (RFC 6749) or JSON. Errors are problem documents that also carry the OAuth `error` and `error_description` members.",
  request: {
    body: {
      content: {
        "application/x-www-form-urlencoded": { schema: tokenRequest },
        "application/json": { schema: tokenRequest },
      },
    },
  },
  responses: {
    200: { description: "Tokens", content: { "application/json": { schema: tokenResponse } } },
    400: { description: "invalid_request, invalid_grant or invalid_scope" },
    401: { description: "invalid_client" },
  },
});

/** The request parameters, form-encoded or JSON, plus client credentials from HTTP Basic. */
async function readParameters(c: Context<ServiceEnv>): Promise<Record<string, unknown>> {
  const type = c.req.header("content-type") ?? "";
  let body: Record<string, unknown>;
  if (type.startsWith("application/x-www-form-urlencoded")) {
    body = Object.fromEntries(new URLSearchParams(await c.req.text()));
  } else if (/^application\/json\b/.test(type)) {
    const parsed: unknown = await c.req.json();
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new AppError("bad_request", "The body must be a JSON object.");
    body = parsed as Record<string, unknown>;
  } else {
    throw new AppError("unsupported_media_type", "Send application/x-www-form-urlencoded or application/json.");
  }
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(c.req.header("authorization") ?? "");
  if (basic?.[1]) {
    const decoded = atob(basic[1]);
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new AppError("bad_request", "Malformed Basic credentials.");
    body.client_id = decodeURIComponent(decoded.slice(0, colon));
    body.client_secret = decodeURIComponent(decoded.slice(colon + 1));
  }
  return body;
}

export function registerToken(app: OpenAPIHono<ServiceEnv>): void {
  // Validated by hand: one schema, two media types, and Basic credentials merged in.
  app.post(route.path, async (c) => {
    const parsed = tokenRequest.safeParse(await readParameters(c));
    if (!parsed.success) throw validationError(parsed.error, "body");
    const request = parsed.data;
    const config = authConfig(c.env);
    const db = c.var.db();
    const options = {
      issuer: config.TOKEN_ISSUER,
      audience: config.TOKEN_AUDIENCE,
      ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    };
    const key = await currentSigningKey(db, await importKek(config.SIGNING_KEY_KEK));
    c.header("cache-control", "no-store");

    if (request.grant_type === "client_credentials") {
      if (!request.client_id)
        throw new AppError("unauthorized", "Client credentials are required.", {
          extensions: { error: "invalid_client" },
        });
      const client = await authenticateClient(db, request.client_id, request.client_secret);
      if (client.kind !== "machine")
        throw new AppError("bad_request", "This client may not use client_credentials.", {
          extensions: { error: "unauthorized_client" },
        });
      const scope = narrowScope(client.scopes, request.scope);
      const { token, expiresIn } = await signAccessToken(
        key,
        { subject: client.id, clientId: client.id, scope },
        options,
      );
      return c.json({ access_token: token, token_type: "Bearer" as const, expires_in: expiresIn, scope }, 200);
    }

    const client = await authenticateClient(db, request.client_id, undefined);
    if (client.kind !== "first_party")
      throw new AppError("bad_request", "This client may not use this grant.", {
        extensions: { error: "unauthorized_client" },
      });

    if (request.grant_type === "authorization_code") {
      const grant = await redeemCode(db, {
        code: request.code,
        clientId: client.id,
        redirectUri: request.redirect_uri,
        codeVerifier: request.code_verifier,
      });
      const user = await findUser(db, grant.userId);
      if (!user) throw invalidGrant("The authorization code is invalid, expired or already used.");
      const { openid, apiScope } = splitOpenId(grant.scope);
      const scope = narrowScope(scopesByRole[user.role as Role], apiScope || undefined);
      const familyId = newId("tokenFamily");
      const refreshToken = await issueRefreshToken(db, {
        userId: user.id,
        clientId: client.id,
        scope,
        ttlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
        familyId,
      });
      await recordFamily(db, grant.codeHash, familyId);
      const { token, expiresIn } = await signAccessToken(
        key,
        { subject: user.id, clientId: client.id, scope },
        options,
      );
      const idToken = openid
        ? await signIdToken(
            key,
            { subject: user.id, clientId: client.id, authTime: grant.authTime, nonce: grant.nonce, email: user.email },
            { issuer: config.TOKEN_ISSUER, ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS },
          )
        : undefined;
      return c.json(
        {
          access_token: token,
          token_type: "Bearer" as const,
          expires_in: expiresIn,
          refresh_token: refreshToken,
          scope: openid ? `openid ${scope}`.trim() : scope,
          ...(idToken ? { id_token: idToken } : {}),
        },
        200,
      );
    }

    if (request.grant_type === "password") {
      if (!config.PASSWORD_GRANT_CLIENTS.includes(client.id))
        throw new AppError("bad_request", "This client signs in with the authorization code flow.", {
          extensions: { error: "unauthorized_client" },
        });
      const user = await authenticateUser(db, request.username, request.password);
      const scope = narrowScope(scopesByRole[user.role as Role], request.scope);
      const refreshToken = await issueRefreshToken(db, {
        userId: user.id,
        clientId: client.id,
        scope,
        ttlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      });
      const { token, expiresIn } = await signAccessToken(
        key,
        { subject: user.id, clientId: client.id, scope },
        options,
      );
      return c.json(
        {
          access_token: token,
          token_type: "Bearer" as const,
          expires_in: expiresIn,
          refresh_token: refreshToken,
          scope,
        },
        200,
      );
    }

    const rotated = await rotateRefreshToken(db, {
      token: request.refresh_token,
      clientId: client.id,
      ttlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
    });
    // The role may have changed since login: never grant more than it allows today.
    const user = await findUser(db, rotated.userId);
    if (!user)
      throw new AppError("bad_request", "The refresh token is invalid.", { extensions: { error: "invalid_grant" } });
    const allowed = scopesByRole[user.role as Role];
    const scope = rotated.scope
      .split(" ")
      .filter((s) => (allowed as readonly string[]).includes(s))
      .join(" ");
    const { token, expiresIn } = await signAccessToken(key, { subject: user.id, clientId: client.id, scope }, options);
    return c.json(
      {
        access_token: token,
        token_type: "Bearer" as const,
        expires_in: expiresIn,
        refresh_token: rotated.refreshToken,
        scope,
      },
      200,
    );
  });
  app.openAPIRegistry.registerPath(route);
}
