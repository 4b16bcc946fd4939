/**
 * The services of edgebank, each one Worker (`edgebank-<service>`, with the environment's suffix
 * when deployed): the gateway first, then the services behind it in the order the local stack
 * starts them. The one list the gateway's routing, the rollout controller and the local tooling
 * read.
 */
export const serviceNames = [
  "gateway",
  "auth",
  "accounts",
  "transfers",
  "payments",
  "ledger",
  "notifications",
  "orders",
  "inventory",
  "delivery",
] as const;

export type ServiceName = (typeof serviceNames)[number];

/** The services behind the gateway. */
export type DownstreamService = Exclude<ServiceName, "gateway">;

export const downstreamServices = serviceNames.filter((name): name is DownstreamService => name !== "gateway");
