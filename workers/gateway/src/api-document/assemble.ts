import { scopes } from "@edgebank/auth";
import type { DownstreamService } from "@edgebank/contracts";
import { type PublicRoute, publicRouteOf } from "@edgebank/contracts/public-routes";

/** The parts of an OpenAPI 3.1 document the gateway reads and writes; the rest passes through. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers?: Array<{ url: string; description?: string }>;
  paths: Record<string, PathItem>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> } & Record<
    string,
    unknown
  >;
  tags?: Array<{ name: string; description?: string }>;
  [extension: string]: unknown;
}
type PathItem = Record<string, Operation>;
interface Operation {
  parameters?: Parameter[];
  responses?: Record<string, Response>;
  security?: Array<Record<string, string[]>>;
  tags?: string[];
  [member: string]: unknown;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  [member: string]: unknown;
}
interface Response {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, unknown>;
  [member: string]: unknown;
}

const methods = new Set(["get", "put", "post", "delete", "patch"]);
const problemRef = { $ref: "#/components/schemas/Problem" };
const problem = (description: string, headers?: Record<string, unknown>): Response => ({
  description,
  ...(headers ? { headers } : {}),
  // The same document is labelled application/json for a client whose Accept admits nothing
  // else (OAuth libraries expect RFC 6749 §5.2 errors so).
  content: { "application/problem+json": { schema: problemRef }, "application/json": { schema: problemRef } },
});

/** RFC 9457 as every edgebank service renders it (`@edgebank/errors`). */
const problemSchema = {
  type: "object",
  description: "RFC 9457 problem details. `code` is stable; clients branch on it, never on `detail`.",
  required: ["type", "title", "status", "detail", "instance", "code", "requestId"],
  properties: {
    type: { type: "string", format: "uri" },
    title: { type: "string" },
    status: { type: "integer", minimum: 400, maximum: 599 },
    detail: { type: "string" },
    instance: { type: "string" },
    code: { type: "string", examples: ["insufficient_funds", "validation_failed", "rate_limited"] },
    requestId: { type: "string" },
  },
  additionalProperties: true,
};

const rateLimitHeaders = {
  RateLimit: {
    description: 'Remaining quota of the limit this request was counted in, e.g. `"api";r=599;t=60`',
    schema: { type: "string" },
  },
  "RateLimit-Policy": {
    description: 'The limit this request was counted in, e.g. `"api";q=600;w=60`',
    schema: { type: "string" },
  },
};
const retryAfter = { description: "Seconds until the limit frees capacity", schema: { type: "integer", minimum: 0 } };

const idempotencyKey: Parameter = {
  name: "Idempotency-Key",
  in: "header",
  required: true,
  description:
    "A key unique to this intent (e.g. a UUID). A repeat with the same key and body gets the first " +
    "answer again with `Idempotent-Replayed: true`; the same key with another body is a 422; " +
    "a repeat while the first is still running is a 409.",
  schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,100}$" },
};

/** Where a client signs in and gets tokens: the environment's public URLs. */
export interface PublicUrls {
  /** The public base URL (the issuer): `https://api.edgebank.dev`, locally the gateway's URL. */
  baseUrl: string;
}

/** Security requirements of a route: any one of its scopes, by OAuth 2.0 or a bearer token. */
function securityOf(route: EdgeRule): Array<Record<string, string[]>> {
  if (route.access === "public") return [];
  const needed: string[][] = route.access === "authenticated" ? [[]] : route.access.anyOf.map((scope) => [scope]);
  return needed.flatMap((required): Array<Record<string, string[]>> => [{ oauth2: required }, { bearer: required }]);
}

/** What the gateway applies to an operation: who may call it, its limit, Idempotency-Key. */
type EdgeRule = Pick<PublicRoute, "access" | "idempotent"> & { limit: PublicRoute["limit"] | "none" };

/** The gateway's own operations (liveness and readiness are never limited: monitors poll them). */
const gatewayRules: Record<string, EdgeRule> = {
  "GET /health": { access: "public", limit: "none" },
  "GET /ready": { access: "public", limit: "none" },
  "GET /health/all": { access: { anyOf: ["operator"] }, limit: "api" },
  "GET /openapi.json": { access: "public", limit: "public" },
};

/** The operation as clients see it through the gateway: who may call it, limits, errors. */
function atTheEdge(operation: Operation, route: EdgeRule): Operation {
  const isKey = (parameter: Parameter) =>
    parameter.in === "header" && parameter.name.toLowerCase() === "idempotency-key";
  const own = operation.parameters?.find(isKey);
  const parameters = (operation.parameters ?? []).filter((parameter) => !isKey(parameter));
  // The edge's replay cache where the gateway keeps one; else a key the service asks for itself
  // (an operator action's operation id), under its canonical name.
  if (route.idempotent) parameters.unshift(idempotencyKey);
  else if (own) parameters.unshift({ ...own, name: "Idempotency-Key" });
  const responses: Record<string, Response> = {};
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    const success = /^[23]/.test(status);
    const limited = route.limit !== "none";
    responses[status] = success
      ? { ...response, ...(limited ? { headers: { ...rateLimitHeaders, ...response.headers } } : {}) }
      : { ...problem(response.description), ...response, content: response.content ?? problem("").content };
  }
  if (route.access !== "public") {
    responses["401"] ??= problem("No valid access token (missing, expired, wrong issuer or audience)");
    responses["403"] ??= problem("The token lacks every scope this route accepts");
  }
  if (route.idempotent) {
    responses["409"] ??= problem("A request with this Idempotency-Key is still running");
    responses["422"] ??= problem("Refused; the problem's `code` says why (nothing changed)");
  }
  if (route.limit !== "none")
    responses["429"] = problem(
      `Rate limited (${route.limit === "api" ? "per caller" : "per client IP"}): wait Retry-After seconds`,
      { ...rateLimitHeaders, "Retry-After": retryAfter },
    );
  responses.default = problem("Any other error, as an RFC 9457 problem document");
  const { security: _service, ...rest } = operation;
  return {
    ...rest,
    ...(parameters.length > 0 ? { parameters } : {}),
    security: securityOf(route),
    responses,
    "x-rate-limit-class": route.limit,
  };
}

/** A service's document with what the gateway does not route left out. */
export interface ServiceDocument {
  service: DownstreamService;
  document: OpenApiDocument;
}

/**
 * The public API in one OpenAPI 3.1 document: the gateway's own operations, then every
 * operation the services document that a public route sends to them (their own probes,
 * documents and internal calls are left out), each as it behaves at the edge. Schemas keep
 * the names the services gave them; two services giving one name to two different schemas is
 * an error, since a client would get one of them wrong.
 */
export function assembleDocument(
  gateway: OpenApiDocument,
  services: readonly ServiceDocument[],
  urls: PublicUrls,
  version: string,
): OpenApiDocument {
  const paths: Record<string, PathItem> = {};
  for (const [path, item] of Object.entries(gateway.paths))
    for (const [method, operation] of Object.entries(item)) {
      const rule = gatewayRules[`${method.toUpperCase()} ${path}`];
      if (!rule) throw new Error(`the gateway's own ${method.toUpperCase()} ${path} has no edge rule`);
      paths[path] = { ...paths[path], [method]: atTheEdge(operation, rule) };
    }
  const schemas: Record<string, unknown> = { ...gateway.components?.schemas, Problem: problemSchema };
  const owners = new Map<string, DownstreamService | "gateway">(Object.keys(schemas).map((name) => [name, "gateway"]));
  for (const { service, document } of services) {
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (!methods.has(method)) continue;
        const route = publicRouteOf(method, path);
        if (route?.service !== service) continue;
        paths[path] = { ...paths[path], [method]: atTheEdge(operation, route) };
      }
    }
    for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
      const owner = owners.get(name);
      if (owner && JSON.stringify(schemas[name]) !== JSON.stringify(schema))
        throw new Error(`schema ${name} is defined differently by ${owner} and ${service}`);
      owners.set(name, owner ?? service);
      schemas[name] = schema;
    }
  }
  const scopeDescriptions = Object.fromEntries(scopes.map((scope) => [scope, scope]));
  return {
    openapi: "3.1.0",
    info: {
      title: "edgebank API",
      version,
      description:
        "The public API of edgebank. Amounts are strings of minor units; every error is an RFC 9457 " +
        "problem document; money-moving POSTs need an Idempotency-Key. Sign in with OpenID Connect " +
        `(discovery at ${urls.baseUrl}/.well-known/openid-configuration).`,
    },
    servers: [{ url: urls.baseUrl }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        oauth2: {
          type: "oauth2",
          description:
            "Apps: authorization code with PKCE (S256). Machine clients: client credentials. " +
            "First-party tests and the rollout probes: the password grant (probes only in production).",
          flows: {
            authorizationCode: {
              authorizationUrl: `${urls.baseUrl}/v1/auth/authorize`,
              tokenUrl: `${urls.baseUrl}/v1/auth/token`,
              refreshUrl: `${urls.baseUrl}/v1/auth/token`,
              scopes: scopeDescriptions,
            },
            clientCredentials: { tokenUrl: `${urls.baseUrl}/v1/auth/token`, scopes: scopeDescriptions },
            password: {
              tokenUrl: `${urls.baseUrl}/v1/auth/token`,
              refreshUrl: `${urls.baseUrl}/v1/auth/token`,
              scopes: scopeDescriptions,
            },
          },
        },
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "An access token from auth" },
      },
    },
  };
}
