import { downstreamServices } from "@edgebank/contracts";

/**
 * The services behind the gateway and the service binding that reaches each. One table: the
 * readiness fan-out reads it today, and the `/v1` routing table is built on it.
 */
export const downstreams = downstreamServices.map((service) => ({
  service,
  binding: service.toUpperCase() as Uppercase<typeof service>,
}));

export type DownstreamBinding = (typeof downstreams)[number]["binding"];
