import { downstreamServices } from "@edgebank/contracts";

/**
 * The services of edgebank as the local tooling sees them: where each worker lives, the name
 * of its Hyperdrive binding, and the PostgreSQL schema its migrations create. The gateway owns
 * no database. The order is the order `wrangler dev` is given the configs after the gateway.
 */
export interface ServiceInfo {
  name: string;
  /** The wrangler config, relative to the repository root. */
  config: string;
  /** Hyperdrive binding name; unique per service so each can point at its own database. */
  dbBinding?: string;
}

export const gateway: ServiceInfo = { name: "gateway", config: "wrangler.toml" };

export const dataServices = downstreamServices.map(
  (name): Required<ServiceInfo> => ({
    name,
    config: `workers/${name}/wrangler.toml`,
    dbBinding: `${name.toUpperCase()}_DB`,
  }),
);

/** The web app's Worker: static files behind the gateway at /app; no database. */
export const webApp: ServiceInfo = { name: "web", config: "workers/web/wrangler.toml" };

export const allServices: ServiceInfo[] = [gateway, ...dataServices, webApp];
