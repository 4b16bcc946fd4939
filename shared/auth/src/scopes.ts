/**
 * The scopes access tokens carry, and the roles that grant them. One table for the auth
 * service (which issues them) and every verifier (gateway and services, which require them).
 */
export const scopes = [
  "accounts:read",
  "accounts:write",
  "transfers:read",
  "transfers:write",
  "payments:read",
  "payments:write",
  "orders:read",
  "orders:write",
  "notifications:read",
  "notifications:write",
  "merchant:read",
  "merchant:write",
  "ledger:read",
  "operator",
  "auditor",
  /**
   * Service scope: move money on accounts over the accounts service's HTTP command API (the
   * benchmarks' path). Machine clients only; the platform's own services call accounts over RPC.
   */
  "accounts:operate",
] as const;
export type Scope = (typeof scopes)[number];

export const roles = ["customer", "merchant", "operator", "auditor"] as const;
export type Role = (typeof roles)[number];

const customerScopes: Scope[] = [
  "accounts:read",
  "accounts:write",
  "transfers:read",
  "transfers:write",
  "payments:read",
  "payments:write",
  "orders:read",
  "orders:write",
  "notifications:read",
  "notifications:write",
];

/**
 * What each role may do. Operators act on other people's resources (freeze, deposit, retry a
 * saga) and every such action is recorded with who did it; auditors read everything, change nothing.
 */
export const scopesByRole: Record<Role, readonly Scope[]> = {
  customer: customerScopes,
  merchant: [...customerScopes, "merchant:read", "merchant:write"],
  operator: ["accounts:read", "transfers:read", "payments:read", "orders:read", "operator"],
  auditor: ["accounts:read", "transfers:read", "payments:read", "orders:read", "ledger:read", "auditor"],
};

/** Whether `value` is a known scope. */
export function isScope(value: string): value is Scope {
  return (scopes as readonly string[]).includes(value);
}
