import type { Scope } from "@edgebank/auth";
import type { DownstreamService } from "./services.ts";

/** Who may call a route: anyone, or a verified token holding at least one of the scopes. */
export type Access = "public" | { anyOf: readonly Scope[] } | "authenticated";

export interface PublicRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** A Hono path pattern. */
  path: string;
  /** The service that serves it. */
  service: DownstreamService;
  access: Access;
  /**
   * Rate-limit class: `auth` (credentials endpoints, per client IP, strict), `public`
   * (documents anyone may read, per client IP) or `api` (per principal).
   */
  limit: "auth" | "public" | "api";
  /** Money-moving POST: an Idempotency-Key is required and replays are served from the cache. */
  idempotent?: boolean;
  /** A WebSocket endpoint: the upgrade is passed on and the service's socket handed back. */
  websocket?: boolean;
}

const read = (resource: string, ...also: Scope[]): Access => ({ anyOf: [`${resource}:read` as Scope, ...also] });
const write = (resource: string, ...also: Scope[]): Access => ({ anyOf: [`${resource}:write` as Scope, ...also] });

/**
 * Every public route of edgebank. The gateway checks the coarse rule (a valid token with a
 * fitting scope); the owning service checks again and enforces ownership. A path missing from
 * this table is a 404 at the edge and never reaches a service.
 */
export const publicRoutes: readonly PublicRoute[] = [
  // Identity: the issuer's public documents and the OAuth endpoints.
  { method: "GET", path: "/.well-known/jwks.json", service: "auth", access: "public", limit: "public" },
  { method: "GET", path: "/.well-known/openid-configuration", service: "auth", access: "public", limit: "public" },
  { method: "POST", path: "/v1/auth/register", service: "auth", access: "public", limit: "auth" },
  { method: "GET", path: "/v1/auth/authorize", service: "auth", access: "public", limit: "auth" },
  { method: "POST", path: "/v1/auth/authorize", service: "auth", access: "public", limit: "auth" },
  { method: "POST", path: "/v1/auth/token", service: "auth", access: "public", limit: "auth" },
  { method: "POST", path: "/v1/auth/revoke", service: "auth", access: "public", limit: "auth" },
  { method: "POST", path: "/v1/auth/logout", service: "auth", access: "authenticated", limit: "api" },
  { method: "GET", path: "/v1/auth/userinfo", service: "auth", access: "authenticated", limit: "api" },
  { method: "POST", path: "/v1/auth/clients", service: "auth", access: { anyOf: ["operator"] }, limit: "api" },
  { method: "GET", path: "/v1/auth/keys", service: "auth", access: { anyOf: ["operator"] }, limit: "api" },
  {
    method: "POST",
    path: "/v1/auth/keys/rotate",
    service: "auth",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  // Accounts.
  { method: "GET", path: "/v1/accounts", service: "accounts", access: read("accounts"), limit: "api" },
  { method: "GET", path: "/v1/accounts/*", service: "accounts", access: read("accounts"), limit: "api" },
  {
    method: "POST",
    path: "/v1/accounts",
    service: "accounts",
    access: write("accounts"),
    limit: "api",
    idempotent: true,
  },
  {
    method: "POST",
    path: "/v1/accounts/*",
    service: "accounts",
    access: write("accounts", "operator"),
    limit: "api",
  },
  // Transfers (deposits and withdrawals are operator transfers).
  { method: "GET", path: "/v1/transfers", service: "transfers", access: read("transfers"), limit: "api" },
  { method: "GET", path: "/v1/transfers/*", service: "transfers", access: read("transfers"), limit: "api" },
  {
    method: "POST",
    path: "/v1/transfers",
    service: "transfers",
    access: write("transfers", "operator"),
    limit: "api",
    idempotent: true,
  },
  {
    method: "POST",
    path: "/v1/transfers/*",
    service: "transfers",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  // Payments and refunds.
  {
    method: "GET",
    path: "/v1/payments",
    service: "payments",
    access: read("payments", "merchant:read"),
    limit: "api",
  },
  {
    method: "GET",
    path: "/v1/payments/*",
    service: "payments",
    access: read("payments", "merchant:read"),
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/payments",
    service: "payments",
    access: write("payments"),
    limit: "api",
    idempotent: true,
  },
  {
    method: "POST",
    path: "/v1/payments/:id/retry",
    service: "payments",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/payments/:id/compensate",
    service: "payments",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/payments/:id/refunds",
    service: "payments",
    access: write("payments", "operator"),
    limit: "api",
    idempotent: true,
  },
  // Refunds that wait for an operator.
  {
    method: "GET",
    path: "/v1/refunds",
    service: "payments",
    access: { anyOf: ["operator", "auditor"] },
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/refunds/:id/retry",
    service: "payments",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  // Merchants (registered by merchant users; any customer may look one up to pay it).
  { method: "GET", path: "/v1/merchants", service: "payments", access: { anyOf: ["merchant:read"] }, limit: "api" },
  {
    method: "GET",
    path: "/v1/merchants/*",
    service: "payments",
    access: read("payments", "merchant:read"),
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/merchants",
    service: "payments",
    access: { anyOf: ["merchant:write"] },
    limit: "api",
  },
  // Ledger (owners and auditors).
  {
    method: "GET",
    path: "/v1/ledger/*",
    service: "ledger",
    access: read("accounts", "ledger:read"),
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/ledger/reconciliations",
    service: "ledger",
    access: { anyOf: ["auditor"] },
    limit: "api",
  },
  // Notifications and webhooks.
  {
    method: "GET",
    path: "/v1/notifications",
    service: "notifications",
    access: read("notifications"),
    limit: "api",
  },
  // Live notifications: a token buys a one-time ticket, the ticket opens the WebSocket (browsers
  // cannot send a bearer token with one; notifications checks the ticket).
  {
    method: "POST",
    path: "/v1/notifications/live/tickets",
    service: "notifications",
    access: read("notifications"),
    limit: "api",
  },
  {
    method: "GET",
    path: "/v1/notifications/live",
    service: "notifications",
    access: "public",
    limit: "public",
    websocket: true,
  },
  // Operators: dead letters and consumers (/v1/notifications/dead-letters, /consumers).
  {
    method: "GET",
    path: "/v1/notifications/*",
    service: "notifications",
    access: read("notifications", "operator"),
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/notifications/*",
    service: "notifications",
    access: write("notifications", "operator"),
    limit: "api",
  },
  { method: "GET", path: "/v1/webhooks", service: "notifications", access: read("notifications"), limit: "api" },
  { method: "GET", path: "/v1/webhooks/*", service: "notifications", access: read("notifications"), limit: "api" },
  {
    method: "POST",
    path: "/v1/webhooks",
    service: "notifications",
    access: write("notifications"),
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/webhooks/*",
    service: "notifications",
    access: write("notifications"),
    limit: "api",
  },
  {
    method: "DELETE",
    path: "/v1/webhooks/*",
    service: "notifications",
    access: write("notifications"),
    limit: "api",
  },
  // Operators' hold on each service's consumers (status, stop, start).
  ...(["payments", "inventory", "orders"] as const).flatMap((service) =>
    (["GET", "POST"] as const).map(
      (method): PublicRoute => ({
        method,
        path: `/v1/operations/${service}/*`,
        service,
        access: { anyOf: ["operator"] },
        limit: "api",
      }),
    ),
  ),
  // Rollouts of new Worker versions: operators steer them, auditors read them.
  {
    method: "GET",
    path: "/v1/operations/rollouts",
    service: "delivery",
    access: { anyOf: ["operator", "auditor"] },
    limit: "api",
  },
  {
    method: "GET",
    path: "/v1/operations/rollouts/*",
    service: "delivery",
    access: { anyOf: ["operator", "auditor"] },
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/operations/rollouts",
    service: "delivery",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/operations/rollouts/*",
    service: "delivery",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  // Commerce.
  { method: "GET", path: "/v1/orders", service: "orders", access: read("orders"), limit: "api" },
  { method: "GET", path: "/v1/orders/*", service: "orders", access: read("orders"), limit: "api" },
  {
    method: "POST",
    path: "/v1/orders",
    service: "orders",
    access: write("orders"),
    limit: "api",
    idempotent: true,
  },
  { method: "POST", path: "/v1/orders/:id/cancel", service: "orders", access: write("orders"), limit: "api" },
  { method: "GET", path: "/v1/products", service: "inventory", access: "public", limit: "public" },
  { method: "GET", path: "/v1/products/*", service: "inventory", access: "public", limit: "public" },
  {
    method: "POST",
    path: "/v1/products",
    service: "inventory",
    access: { anyOf: ["merchant:write"] },
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/products/*",
    service: "inventory",
    access: { anyOf: ["merchant:write"] },
    limit: "api",
  },
];

/** A route's Hono pattern as a regular expression: `:name` is one segment, a trailing `*` the rest. */
function patternOf(path: string): RegExp {
  const source = path
    .split("/")
    .map((segment) => {
      if (segment === "*") return ".+";
      if (segment.startsWith(":")) return "[^/]+";
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${source}$`);
}

const patterns = new Map(publicRoutes.map((route) => [route, patternOf(route.path)]));

/**
 * The public route that serves `method` on `path`, the first that matches as the gateway's
 * router would; OpenAPI path templates (`/v1/transfers/{id}`) are matched with a sample value.
 */
export function publicRouteOf(method: string, path: string): PublicRoute | undefined {
  const concrete = path.replace(/\{[^}/]+\}/g, "sample");
  const upper = method.toUpperCase();
  return publicRoutes.find((route) => route.method === upper && patterns.get(route)?.test(concrete));
}
