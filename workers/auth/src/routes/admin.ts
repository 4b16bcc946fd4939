import { isScope, requireAuth } from "@edgebank/auth";
import type { ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { authConfig } from "../config.ts";
import { createMachineClient } from "../domain/identity.ts";
import { importKek } from "../domain/key-encryption.ts";
import { retireExpiredKeys, rotateKeys } from "../domain/signing-keys.ts";
import { listSigningKeys } from "../repo/signing-keys.ts";
import { verifier } from "../verifier.ts";

const createClientRoute = createRoute({
  method: "post",
  path: "/v1/auth/clients",
  tags: ["auth", "operator"],
  summary: "Create a machine client (client_credentials); its secret is shown once",
  security: [{ bearer: [] }],
  middleware: [requireAuth(verifier, ["operator"])] as const,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z.object({
            name: z.string().min(1).max(100),
            scopes: z.array(z.string().refine(isScope, "unknown scope")).min(1).max(20),
            ownerUserId: z.string().optional(),
          }),
        },
      },
      required: true,
    },
  },
  responses: {
    201: {
      description: "Created",
      content: {
        "application/json": {
          schema: z.object({ client_id: z.string(), client_secret: z.string(), scopes: z.array(z.string()) }),
        },
      },
    },
  },
});

const rotateRoute = createRoute({
  method: "post",
  path: "/v1/auth/keys/rotate",
  tags: ["auth", "operator"],
  summary: "Rotate the token signing keys now (the cron does it on schedule)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(verifier, ["operator"])] as const,
  responses: {
    200: {
      description: "Rotated",
      content: {
        "application/json": {
          schema: z.object({
            previous: z.string(),
            current: z.string(),
            next: z.string(),
            retired: z.array(z.string()),
          }),
        },
      },
    },
  },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/v1/auth/keys",
  tags: ["auth", "operator"],
  summary: "The signing keys and their states (never their key material)",
  security: [{ bearer: [] }],
  middleware: [requireAuth(verifier, ["operator"])] as const,
  responses: {
    200: {
      description: "Keys, newest first",
      content: {
        "application/json": {
          schema: z.object({
            keys: z.array(
              z.object({
                kid: z.string(),
                status: z.string(),
                createdAt: z.string(),
                activatedAt: z.string().nullable(),
                retireAfter: z.string().nullable(),
                retiredAt: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
  },
});

export function registerAdmin(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(listKeysRoute, async (c) => {
    const rows = await listSigningKeys(c.var.db());
    const iso = (date: Date | null) => date?.toISOString() ?? null;
    const keys = rows.map((row) => ({
      kid: row.kid,
      status: row.status,
      createdAt: row.createdAt.toISOString(),
      activatedAt: iso(row.activatedAt),
      retireAfter: iso(row.retireAfter),
      retiredAt: iso(row.retiredAt),
    }));
    return c.json({ keys }, 200);
  });

  app.openapi(createClientRoute, async (c) => {
    const input = c.req.valid("json");
    const client = await createMachineClient(c.var.db(), { ...input, actor: c.var.principal.subject });
    c.header("cache-control", "no-store");
    return c.json({ client_id: client.id, client_secret: client.secret, scopes: client.scopes }, 201);
  });

  app.openapi(rotateRoute, async (c) => {
    const config = authConfig(c.env);
    const db = c.var.db();
    const rotated = await rotateKeys(db, await importKek(config.SIGNING_KEY_KEK), {
      accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      actor: c.var.principal.subject,
      reason: "operator request",
    });
    return c.json({ ...rotated, retired: await retireExpiredKeys(db) }, 200);
  });
}
