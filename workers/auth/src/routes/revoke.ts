import { requireAuth } from "@edgebank/auth";
import { AppError, validationError } from "@edgebank/errors";
import type { ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { revokeAllRefreshTokens, revokeRefreshToken } from "../domain/tokens.ts";
import { verifier } from "../verifier.ts";

const revocation = z.object({
  token: z.string().min(1).max(200),
  token_type_hint: z.enum(["refresh_token", "access_token"]).optional(),
});

const revokeRoute = createRoute({
  method: "post",
  path: "/v1/auth/revoke",
  tags: ["auth"],
  summary: "RFC 7009 revocation: revokes a refresh token and every token of its family",
  responses: { 200: { description: "Revoked, or the token was unknown (RFC 7009 §2.2)" } },
});

const logoutRoute = createRoute({
  method: "post",
  path: "/v1/auth/logout",
  tags: ["auth"],
  summary: "Log out: revoke the given refresh token's family, or every session with `all`",
  security: [{ bearer: [] }],
  middleware: [requireAuth(verifier)] as const,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z.object({ refresh_token: z.string().min(1).max(200).optional(), all: z.boolean().optional() }),
        },
      },
    },
  },
  responses: {
    200: { description: "Logged out", content: { "application/json": { schema: z.object({ revoked: z.number() }) } } },
  },
});

export function registerRevocation(app: OpenAPIHono<ServiceEnv>): void {
  app.post(revokeRoute.path, async (c) => {
    const type = c.req.header("content-type") ?? "";
    const raw = type.startsWith("application/x-www-form-urlencoded")
      ? Object.fromEntries(new URLSearchParams(await c.req.text()))
      : await c.req.json();
    const parsed = revocation.safeParse(raw);
    if (!parsed.success) throw validationError(parsed.error, "body");
    // Access tokens are short-lived and not tracked; revoking one is accepted and has no effect.
    if (parsed.data.token_type_hint !== "access_token")
      await revokeRefreshToken(c.var.db(), parsed.data.token, "revoked");
    c.header("cache-control", "no-store");
    return c.body(null, 200);
  });
  app.openAPIRegistry.registerPath(revokeRoute);

  app.openapi(logoutRoute, async (c) => {
    const principal = c.var.principal;
    if (principal.kind !== "user") throw new AppError("forbidden", "Only people log out.");
    const body = c.req.valid("json");
    const db = c.var.db();
    let revoked = 0;
    if (body.all) revoked = await revokeAllRefreshTokens(db, principal.subject, "logout_all");
    else if (body.refresh_token) {
      // Another user's token is treated like an unknown one: nothing is revoked or revealed.
      revoked = (await revokeRefreshToken(db, body.refresh_token, "logout", principal.subject)) ? 1 : 0;
    }
    return c.json({ revoked }, 200);
  });
}
