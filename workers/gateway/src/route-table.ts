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
  /** Rate-limit class: per client IP (auth endpoints) or per principal (the API). */
  limit: "ip" | "principal";
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
  { method: "GET", path: "/.well-known/jwks.json", binding: "AUTH", access: "public", limit: "ip" },
  { method: "GET", path: "/.well-known/openid-configuration", binding: "AUTH", access: "public", limit: "ip" },
  { method: "POST", path: "/v1/auth/register", binding: "AUTH", access: "public", limit: "ip" },
  { method: "POST", path: "/v1/auth/token", binding: "AUTH", access: "public", limit: "ip" },
  { method: "POST", path: "/v1/auth/revoke", binding: "AUTH", access: "public", limit: "ip" },
  { method: "POST", path: "/v1/auth/logout", binding: "AUTH", access: "authenticated", limit: "principal" },
  { method: "GET", path: "/v1/auth/userinfo", binding: "AUTH", access: "authenticated", limit: "principal" },
  { method: "POST", path: "/v1/auth/clients", binding: "AUTH", access: { anyOf: ["operator"] }, limit: "principal" },
  {
    method: "POST",
    path: "/v1/auth/keys/rotate",
    binding: "AUTH",
    access: { anyOf: ["operator"] },
    limit: "principal",
  },
  // Accounts.
  { method: "GET", path: "/v1/accounts", binding: "ACCOUNTS", access: read("accounts"), limit: "principal" },
  { method: "GET", path: "/v1/accounts/*", binding: "ACCOUNTS", access: read("accounts"), limit: "principal" },
  {
    method: "POST",
    path: "/v1/accounts",
    binding: "ACCOUNTS",
    access: write("accounts"),
    limit: "principal",
    idempotent: true,
  },
  {
    method: "POST",
    path: "/v1/accounts/*",
    binding: "ACCOUNTS",
    access: write("accounts", "operator"),
    limit: "principal",
  },
  // Transfers (deposits and withdrawals are operator transfers).
  { method: "GET", path: "/v1/transfers", binding: "TRANSFERS", access: read("transfers"), limit: "principal" },
  { method: "GET", path: "/v1/transfers/*", binding: "TRANSFERS", access: read("transfers"), limit: "principal" },
  {
    method: "POST",
    path: "/v1/transfers",
    binding: "TRANSFERS",
    access: write("transfers", "operator"),
    limit: "principal",
    idempotent: true,
  },
  {
    method: "POST",
    path: "/v1/transfers/*",
    binding: "TRANSFERS",
    access: { anyOf: ["operator"] },
    limit: "principal",
  },
  // Payments and refunds.
  {
    method: "GET",
    path: "/v1/payments",
    binding: "PAYMENTS",
    access: read("payments", "merchant:read"),
    limit: "principal",
  },
  {
    method: "GET",
    path: "/v1/payments/*",
    binding: "PAYMENTS",
    access: read("payments", "merchant:read"),
    limit: "principal",
  },
  {
    method: "POST",
    path: "/v1/payments",
    binding: "PAYMENTS",
    access: write("payments"),
    limit: "principal",
    idempotent: true,
  },
  {
    method: "POST",
    path: "/v1/payments/:id/refunds",
    binding: "PAYMENTS",
    access: write("payments", "operator"),
    limit: "principal",
    idempotent: true,
  },
  // Ledger (owners and auditors).
  {
    method: "GET",
    path: "/v1/ledger/*",
    binding: "LEDGER",
    access: read("accounts", "ledger:read"),
    limit: "principal",
  },
  // Notifications and webhooks.
  {
    method: "GET",
    path: "/v1/notifications",
    binding: "NOTIFICATIONS",
    access: read("notifications"),
    limit: "principal",
  },
  { method: "GET", path: "/v1/webhooks", binding: "NOTIFICATIONS", access: read("notifications"), limit: "principal" },
  {
    method: "POST",
    path: "/v1/webhooks",
    binding: "NOTIFICATIONS",
    access: write("notifications"),
    limit: "principal",
  },
  // Commerce.
  { method: "GET", path: "/v1/orders", binding: "ORDERS", access: read("orders"), limit: "principal" },
  { method: "GET", path: "/v1/orders/*", binding: "ORDERS", access: read("orders"), limit: "principal" },
  {
    method: "POST",
    path: "/v1/orders",
    binding: "ORDERS",
    access: write("orders"),
    limit: "principal",
    idempotent: true,
  },
  { method: "POST", path: "/v1/orders/:id/cancel", binding: "ORDERS", access: write("orders"), limit: "principal" },
  { method: "GET", path: "/v1/products", binding: "INVENTORY", access: "public", limit: "ip" },
  { method: "GET", path: "/v1/products/*", binding: "INVENTORY", access: "public", limit: "ip" },
  {
    method: "POST",
    path: "/v1/products",
    binding: "INVENTORY",
    access: { anyOf: ["merchant:write"] },
    limit: "principal",
  },
  {
    method: "POST",
    path: "/v1/products/*",
    binding: "INVENTORY",
    access: { anyOf: ["merchant:write"] },
    limit: "principal",
  },
];
