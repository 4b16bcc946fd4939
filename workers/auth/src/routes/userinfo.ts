import { requireAuth } from "@edgebank/auth";
import type { ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { findUserProfile } from "../repo/users.ts";
import { verifier } from "../verifier.ts";

const route = createRoute({
  method: "get",
  path: "/v1/auth/userinfo",
  tags: ["auth"],
  summary: "Who the access token belongs to (OpenID Connect UserInfo)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(verifier)] as const,
  responses: {
    200: {
      description: "The caller",
      content: {
        "application/json": {
          schema: z
            .object({
              sub: z.string(),
              client_id: z.string(),
              scope: z.string(),
              email: z.string().optional(),
              role: z.string().optional(),
            })
            .openapi("UserInfo"),
        },
      },
    },
  },
});

export function registerUserInfo(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(route, async (c) => {
    const principal = c.var.principal;
    const base = { sub: principal.subject, client_id: principal.clientId, scope: [...principal.scopes].join(" ") };
    if (principal.kind !== "user") return c.json(base, 200);
    const user = await findUserProfile(c.var.db(), principal.subject);
    return c.json({ ...base, ...(user ?? {}) }, 200);
  });
}
