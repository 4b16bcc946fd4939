import { type DownstreamService, downstreamServices } from "@edgebank/contracts";

/** The service binding that reaches a service behind the gateway (`AUTH`, `ACCOUNTS`, …). */
export const bindingOf = <S extends DownstreamService>(service: S) => service.toUpperCase() as Uppercase<S>;

/**
 * The services behind the gateway and the binding of each: the readiness fan-out and the
 * public routes (`@edgebank/contracts`) read it.
 */
export const downstreams = downstreamServices.map((service) => ({ service, binding: bindingOf(service) }));

export type DownstreamBinding = (typeof downstreams)[number]["binding"];
