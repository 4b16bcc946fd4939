import type { Logger } from "./logger.ts";
import type { TraceContext } from "./trace.ts";

/** Per-request values every edgebank app sets before a handler runs. */
export interface AppVariables {
  /** The Worker's service name. */
  service: string;
  requestId: string;
  trace: TraceContext;
  log: Logger;
}

/** The Hono environment of an edgebank worker: its bindings and the shared request variables. */
export interface AppEnv<Bindings extends object = object, Variables extends object = object> {
  Bindings: Bindings;
  Variables: AppVariables & Variables;
}
