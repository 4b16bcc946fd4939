import type { Scope } from "@edgebank/auth";
import type { DownstreamBinding } from "./services.ts";

/** Who may call a route: anyone, or a verified token holding at least one of the scopes. */
export type Access = "public" | { anyOf: readonly Scope[] } | "authenticated";

export interface RouteRule {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** A Hono path pattern. */
  path: string;
  binding: DownstreamBinding;
  access: Access;
  /**
   * Rate-limit class: `auth` (credentials endpoints, per client IP, strict), `public`
   * (documents anyone may read, per client IP) or `api` (per principal).
   */
  limit: "auth" | "public" | "api";
  /** Money-moving POST: an Idempotency-Key is required and replays are served from the cache. */
  idempotent?: boolean;
}

const read = (resource: string, ...also: Scope[]): Access => ({ anyOf: [`${resource}:read` as Scope, ...also] });
const write = (resource: string, ...also: Scope[]): Access => ({ anyOf: [`${resource}:write` as Scope, ...also] });

/**
 * Every public route of edgebank. The gateway checks the coarse rule (a valid token with a
 * fitting scope); the owning service checks again and enforces ownership. A path missing from
 * this table is a 404 at the edge and never reaches a service.
 */
export const routeTable: readonly RouteRule[] = [
  // Identity: the issuer's public documents and the OAuth endpoints.
  { method: "GET", path: "/.well-known/jwks.json", binding: "AUTH", access: "public", limit: "public" },
  { method: "GET", path: "/.well-known/openid-configuration", binding: "AUTH", access: "public", limit: "public" },
  { method: "POST", path: "/v1/auth/register", binding: "AUTH", access: "public", limit: "auth" },
  { method: "POST", path: "/v1/auth/token", binding: "AUTH", access: "public", limit: "auth" },
  { method: "POST", path: "/v1/auth/revoke", binding: "AUTH", access: "public", limit: "auth" },
  { method: "POST", path: "/v1/auth/logout", binding: "AUTH", access: "authenticated", limit: "api" },
  { method: "GET", path: "/v1/auth/userinfo", binding: "AUTH", access: "authenticated", limit: "api" },
  { method: "POST", path: "/v1/auth/clients", binding: "AUTH", access: { anyOf: ["operator"] }, limit: "api" },
  {
    method: "POST",
    path: "/v1/auth/keys/rotate",
    binding: "AUTH",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  // Accounts.
  { method: "GET", path: "/v1/accounts", binding: "ACCOUNTS", access: read("accounts"), limit: "api" },
  { method: "GET", path: "/v1/accounts/*", binding: "ACCOUNTS", access: read("accounts"), limit: "api" },
  {
    method: "POST",
    path: "/v1/accounts",
    binding: "ACCOUNTS",
    access: write("accounts"),
    limit: "api",
    idempotent: true,
  },
  {
    method: "POST",
    path: "/v1/accounts/*",
    binding: "ACCOUNTS",
    access: write("accounts", "operator"),
    limit: "api",
  },
  // Transfers (deposits and withdrawals are operator transfers).
  { method: "GET", path: "/v1/transfers", binding: "TRANSFERS", access: read("transfers"), limit: "api" },
  { method: "GET", path: "/v1/transfers/*", binding: "TRANSFERS", access: read("transfers"), limit: "api" },
  {
    method: "POST",
    path: "/v1/transfers",
    binding: "TRANSFERS",
    access: write("transfers", "operator"),
    limit: "api",
    idempotent: true,
  },
  {
    method: "POST",
    path: "/v1/transfers/*",
    binding: "TRANSFERS",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  // Payments and refunds.
  {
    method: "GET",
    path: "/v1/payments",
    binding: "PAYMENTS",
    access: read("payments", "merchant:read"),
    limit: "api",
  },
  {
    method: "GET",
    path: "/v1/payments/*",
    binding: "PAYMENTS",
    access: read("payments", "merchant:read"),
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/payments",
    binding: "PAYMENTS",
    access: write("payments"),
    limit: "api",
    idempotent: true,
  },
  {
    method: "POST",
    path: "/v1/payments/:id/refunds",
    binding: "PAYMENTS",
    access: write("payments", "operator"),
    limit: "api",
    idempotent: true,
  },
  // Merchants (registered by merchant users; any customer may look one up to pay it).
  { method: "GET", path: "/v1/merchants", binding: "PAYMENTS", access: { anyOf: ["merchant:read"] }, limit: "api" },
  {
    method: "GET",
    path: "/v1/merchants/*",
    binding: "PAYMENTS",
    access: read("payments", "merchant:read"),
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/merchants",
    binding: "PAYMENTS",
    access: { anyOf: ["merchant:write"] },
    limit: "api",
  },
  // Ledger (owners and auditors).
  {
    method: "GET",
    path: "/v1/ledger/*",
    binding: "LEDGER",
    access: read("accounts", "ledger:read"),
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/ledger/reconciliations",
    binding: "LEDGER",
    access: { anyOf: ["auditor"] },
    limit: "api",
  },
  // Notifications and webhooks.
  {
    method: "GET",
    path: "/v1/notifications",
    binding: "NOTIFICATIONS",
    access: read("notifications"),
    limit: "api",
  },
  // Operators: dead letters and consumers (/v1/notifications/dead-letters, /consumers).
  {
    method: "GET",
    path: "/v1/notifications/*",
    binding: "NOTIFICATIONS",
    access: read("notifications", "operator"),
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/notifications/*",
    binding: "NOTIFICATIONS",
    access: write("notifications", "operator"),
    limit: "api",
  },
  { method: "GET", path: "/v1/webhooks", binding: "NOTIFICATIONS", access: read("notifications"), limit: "api" },
  { method: "GET", path: "/v1/webhooks/*", binding: "NOTIFICATIONS", access: read("notifications"), limit: "api" },
  {
    method: "POST",
    path: "/v1/webhooks",
    binding: "NOTIFICATIONS",
    access: write("notifications"),
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/webhooks/*",
    binding: "NOTIFICATIONS",
    access: write("notifications"),
    limit: "api",
  },
  {
    method: "DELETE",
    path: "/v1/webhooks/*",
    binding: "NOTIFICATIONS",
    access: write("notifications"),
    limit: "api",
  },
  // Operators' hold on each service's consumers (status, stop, start).
  ...(["PAYMENTS", "INVENTORY", "ORDERS"] as const).flatMap((binding) =>
    (["GET", "POST"] as const).map(
      (method): RouteRule => ({
        method,
        path: `/v1/operations/${binding.toLowerCase()}/*`,
        binding,
        access: { anyOf: ["operator"] },
        limit: "api",
      }),
    ),
  ),
  // Rollouts of new Worker versions: operators steer them, auditors read them.
  {
    method: "GET",
    path: "/v1/operations/rollouts",
    binding: "DELIVERY",
    access: { anyOf: ["operator", "auditor"] },
    limit: "api",
  },
  {
    method: "GET",
    path: "/v1/operations/rollouts/*",
    binding: "DELIVERY",
    access: { anyOf: ["operator", "auditor"] },
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/operations/rollouts",
    binding: "DELIVERY",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/operations/rollouts/*",
    binding: "DELIVERY",
    access: { anyOf: ["operator"] },
    limit: "api",
  },
  // Commerce.
  { method: "GET", path: "/v1/orders", binding: "ORDERS", access: read("orders"), limit: "api" },
  { method: "GET", path: "/v1/orders/*", binding: "ORDERS", access: read("orders"), limit: "api" },
  {
    method: "POST",
    path: "/v1/orders",
    binding: "ORDERS",
    access: write("orders"),
    limit: "api",
    idempotent: true,
  },
  { method: "POST", path: "/v1/orders/:id/cancel", binding: "ORDERS", access: write("orders"), limit: "api" },
  { method: "GET", path: "/v1/products", binding: "INVENTORY", access: "public", limit: "public" },
  { method: "GET", path: "/v1/products/*", binding: "INVENTORY", access: "public", limit: "public" },
  {
    method: "POST",
    path: "/v1/products",
    binding: "INVENTORY",
    access: { anyOf: ["merchant:write"] },
    limit: "api",
  },
  {
    method: "POST",
    path: "/v1/products/*",
    binding: "INVENTORY",
    access: { anyOf: ["merchant:write"] },
    limit: "api",
  },
];
