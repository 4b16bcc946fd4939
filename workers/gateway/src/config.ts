import { baseVars, bindingWith, defineConfig } from "@edgebank/config";
import { z } from "zod";
import { type DownstreamBinding, downstreams } from "./services.ts";

/** A service binding: what the gateway calls `fetch` on. */
const serviceBinding = bindingWith("fetch").transform((binding) => binding as unknown as Fetcher);

const bindings = Object.fromEntries(downstreams.map(({ binding }) => [binding, serviceBinding])) as {
  [K in DownstreamBinding]: typeof serviceBinding;
};

export const gatewayConfig = defineConfig(
  baseVars.extend({
    /** Deadline of one call to a service behind the gateway. */
    DOWNSTREAM_TIMEOUT_MS: z.coerce.number().int().positive().max(30_000).default(2_000),
    ...bindings,
  }),
);

export type GatewayConfig = ReturnType<typeof gatewayConfig>;
