/**
 * The services behind the gateway and the service binding that reaches each. One table: the
 * readiness fan-out reads it today, and the `/v1` routing table is built on it.
 */
export const downstreams = [
  { service: "auth", binding: "AUTH" },
  { service: "accounts", binding: "ACCOUNTS" },
  { service: "transfers", binding: "TRANSFERS" },
  { service: "payments", binding: "PAYMENTS" },
  { service: "ledger", binding: "LEDGER" },
  { service: "notifications", binding: "NOTIFICATIONS" },
  { service: "orders", binding: "ORDERS" },
  { service: "inventory", binding: "INVENTORY" },
  { service: "delivery", binding: "DELIVERY" },
] as const;

export type DownstreamBinding = (typeof downstreams)[number]["binding"];
