import { scopes } from "@edgebank/auth";
import type { ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { authConfig } from "../config.ts";
import { importKek } from "../domain/key-encryption.ts";
import { publishedJwks } from "../domain/signing-keys.ts";

const jwk = z.record(z.string(), z.unknown());

const jwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags: ["auth"],
  summary: "The public keys that verify access tokens (next, current and previous)",
  responses: {
    200: {
      description: "JWK Set",
      content: { "application/json": { schema: z.object({ keys: z.array(jwk) }).openapi("JwkSet") } },
    },
  },
});

const discoveryRoute = createRoute({
  method: "get",
  path: "/.well-known/openid-configuration",
  tags: ["auth"],
  summary: "Authorization server metadata (OpenID Connect Discovery / RFC 8414)",
  responses: {
    200: { description: "Metadata", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
  },
});

/**
 * JWKS and discovery. The JWKS may be cached for 5 minutes: a new key is published as `next`
 * a whole rotation interval before it signs, far longer than any cache keeps the old set.
 */
export function registerWellKnown(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(jwksRoute, async (c) => {
    const jwks = await publishedJwks(c.var.db(), await importKek(authConfig(c.env).SIGNING_KEY_KEK));
    c.header("cache-control", "public, max-age=300, stale-while-revalidate=60");
    return c.json({ keys: jwks.keys as Array<Record<string, unknown>> }, 200);
  });

  app.openapi(discoveryRoute, (c) => {
    // The issuer is the environment's public base URL: every endpoint named here is one a
    // client reaches through the gateway, never a service's internal host.
    const issuer = authConfig(c.env).TOKEN_ISSUER;
    c.header("cache-control", "public, max-age=3600");
    return c.json(
      {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        token_endpoint: `${issuer}/v1/auth/token`,
        userinfo_endpoint: `${issuer}/v1/auth/userinfo`,
        revocation_endpoint: `${issuer}/v1/auth/revoke`,
        registration_endpoint: `${issuer}/v1/auth/register`,
        authorization_endpoint: `${issuer}/v1/auth/authorize`,
        response_types_supported: ["code"],
        response_modes_supported: ["query"],
        code_challenge_methods_supported: ["S256"],
        authorization_response_iss_parameter_supported: true,
        grant_types_supported: ["authorization_code", "refresh_token", "client_credentials", "password"],
        token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
        revocation_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
        scopes_supported: ["openid", ...scopes],
        claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "email"],
        id_token_signing_alg_values_supported: ["ES256"],
        access_token_signing_alg_values_supported: ["ES256"],
        subject_types_supported: ["public"],
      },
      200,
    );
  });
}
