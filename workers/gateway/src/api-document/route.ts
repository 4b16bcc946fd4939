import { AppError } from "@edgebank/errors";
import { type AppEnv, propagationHeaders } from "@edgebank/http";
import { PolicyRegistry } from "@edgebank/resilience";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type GatewayConfig, gatewayConfig } from "../config.ts";
import { admit, clientAddress } from "../rate-limit.ts";
import { downstreams } from "../services.ts";
import { assembleDocument, type OpenApiDocument, type ServiceDocument } from "./assemble.ts";

const policies = new PolicyRegistry();

const documentRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  tags: ["reference"],
  summary: "This document: the public API in OpenAPI 3.1, assembled from the services' own descriptions",
  responses: {
    200: {
      description: "The OpenAPI document",
      content: { "application/json": { schema: z.object({ openapi: z.string() }).passthrough() } },
    },
    503: { description: "A service did not answer: the document would be incomplete" },
  },
});

/** How long an isolate keeps the assembled document: a new service version shows within a minute. */
const CACHE_MS = 60_000;
let cached: { at: number; document: OpenApiDocument } | undefined;

async function serviceDocuments(c: Context<AppEnv>, config: GatewayConfig): Promise<ServiceDocument[]> {
  const results = await Promise.allSettled(
    downstreams.map(async ({ service, binding }) => {
      const policy = policies.get(`document:${service}`, {
        attemptTimeoutMs: config.DOWNSTREAM_TIMEOUT_MS,
        retry: { maxAttempts: 2 },
      });
      const response = await policy.execute((signal) =>
        config[binding].fetch(
          new Request(`https://${service}.internal/openapi.json`, { headers: propagationHeaders(c), signal }),
        ),
      );
      if (!response.ok) throw new Error(`${service} answered ${response.status}`);
      const document = (await response.json()) as Partial<OpenApiDocument>;
      if (typeof document.paths !== "object" || document.paths === null) throw new Error(`${service}: no paths`);
      return { service, document: document as OpenApiDocument };
    }),
  );
  const missing = downstreams.filter((_, index) => results[index]?.status === "rejected").map((d) => d.service);
  if (missing.length > 0) {
    c.get("log").warn("service documents unavailable", { services: missing });
    // A document without some services' operations would mislead client generators.
    throw new AppError(
      "dependency_unavailable",
      `The API description is incomplete: ${missing.join(", ")} did not answer.`,
      {
        headers: { "retry-after": "5" },
      },
    );
  }
  return results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
}

/**
 * GET /openapi.json: the whole public API, assembled from the services' own documents (each
 * service describes its routes with zod-openapi) and the public routes of `@edgebank/contracts`.
 * Public, limited per client IP like the other public documents.
 */
export function registerApiDocument(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerPath(documentRoute);
  app.get(documentRoute.path, async (c) => {
    const config = gatewayConfig(c.env);
    const limited = await admit(config, "public", clientAddress(c.req), c.get("log"));
    const now = Date.now();
    // The finished document is kept, never a pending promise: a promise's I/O belongs to the
    // request that started it, so other requests must not await it.
    if (!cached || now - cached.at > CACHE_MS) {
      const gateway = app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: { title: "edgebank gateway", version: config.SERVICE_VERSION },
      });
      const services = await serviceDocuments(c, config);
      const document = assembleDocument(
        gateway as OpenApiDocument,
        services,
        { baseUrl: config.TOKEN_ISSUER },
        config.SERVICE_VERSION,
      );
      cached = { at: now, document };
    }
    const { document } = cached;
    for (const [name, value] of Object.entries(limited)) c.header(name, value);
    c.header("cache-control", "public, max-age=60");
    return c.json(document);
  });
}
