/**
 * Faults for the test build of a Worker, and nothing else: a flow shell that can be told to crash
 * at a step boundary or to be refused a step, and a Worker wrapper that arms those faults from a
 * request's headers. Production entry modules never import this (a lint rule keeps it out of
 * every `src/`); each Worker whose flows are tested under faults has a `test/faults-entry.ts`
 * that re-exports its production module with these applied, and the development stack runs that
 * entry instead of `src/index.ts` only when asked to (`EDGEBANK_TEST_FAULTS=true`, the e2e
 * suites).
 */
import { AppError, problemResponse, toProblem } from "@edgebank/errors";
import type { FlowOptions, Transition } from "../src/machine.ts";
import type { FlowObject, FlowSubject } from "../src/shell.ts";
import type { CanaryFault } from "./canary-fault.ts";

/** `<step>:before|after`: the object crashes there once; `<step>:throw`: the step throws once (an unexpected error). */
export type CrashPoint<S extends string = string> = `${S}:${"before" | "after" | "throw"}`;

/** Faults a new flow is armed with before it starts. */
export interface TestFaults<S extends string = string> {
  crashAt?: CrashPoint<S>;
  refuseAt?: S;
}

// biome-ignore lint/suspicious/noExplicitAny: a mixin's base constructor takes any arguments (TS2545).
type FlowClass = new (...args: any[]) => FlowObject<string, FlowSubject, unknown>;

// biome-ignore lint/suspicious/noExplicitAny: as FlowClass.
type FaultedClass = new (...args: any[]) => { armFaults(id: string, faults: TestFaults): Promise<boolean> };

const isProduction = (env: unknown) => (env as { ENVIRONMENT?: string } | undefined)?.ENVIRONMENT === "production";

/**
 * The flow shell `Base` with faults: `armFaults` (an RPC method) stores a flow's in its host
 * before the flow starts, and the flow's machine's fault hooks read them once per instance. A crash is real:
 * the writes so far are made durable, the alarm is set, and the object aborts, so the next run
 * finds exactly what a machine dying there would have left.
 */
export function withTestFaults<C extends FlowClass>(Base: C): C & FaultedClass {
  // Abstract only to the compiler (FlowObject's members are abstract in the base's type); `Base`
  // is the concrete shell, and so is what this returns.
  abstract class WithTestFaults extends Base {
    /** Each flow's armed faults, read from storage once per instance. */
    readonly #armed = new Map<string, Promise<{ crashAt?: string | undefined; refuseAt?: string | undefined }>>();

    /** Arms `faults` for flow `id`; a flow that started already is left as it is (false). */
    async armFaults(id: string, faults: TestFaults): Promise<boolean> {
      if (isProduction(this.env)) throw new AppError("forbidden", "Fault injection is disabled in production.");
      if (await this.machine(id).outcome()) return false;
      await this.ctx.storage.put({
        ...(faults.crashAt ? { [`crashAt:${id}`]: faults.crashAt } : {}),
        ...(faults.refuseAt ? { [`refuseAt:${id}`]: faults.refuseAt } : {}),
      });
      this.#armed.delete(id);
      return true;
    }

    protected override machineOptions(id: string): FlowOptions<string> {
      return {
        ...super.machineOptions(id),
        faults: {
          before: (step) => this.#crashIf(id, step, "before"),
          after: (step) => this.#crashIf(id, step, "after"),
          refusal: (step) => this.#refusalIf(id, step),
        },
      };
    }

    #armedFaults(id: string) {
      let armed = this.#armed.get(id);
      if (!armed) {
        armed = this.ctx.storage.get<string>([`crashAt:${id}`, `refuseAt:${id}`]).then((stored) => ({
          crashAt: stored.get(`crashAt:${id}`),
          refuseAt: stored.get(`refuseAt:${id}`),
        }));
        this.#armed.set(id, armed);
      }
      return armed;
    }

    async #refusalIf(id: string, step: string): Promise<Transition<string> | undefined> {
      const armed = await this.#armedFaults(id);
      if (armed.refuseAt !== step) return undefined;
      armed.refuseAt = undefined;
      await this.ctx.storage.delete(`refuseAt:${id}`);
      return { step: this.machine(id).escalation, status: "RUNNING", reason: `${step}_refused: injected` };
    }

    async #crashIf(id: string, step: string, when: "before" | "after"): Promise<void> {
      const armed = await this.#armedFaults(id);
      if (armed.crashAt === undefined) return;
      if (when === "before" && armed.crashAt === `${step}:throw`) {
        // An unexpected error in the run: reported, and the flow goes on at its next wake-up.
        await this.#disarm(id, armed);
        throw new Error(`Injected failure before ${step} (test environments only).`);
      }
      if (armed.crashAt !== `${step}:${when}`) return;
      await this.#disarm(id, armed);
      // As if the machine died here: the next wake-up (set now) finds the state as stored. The
      // writes are made durable first, or the crash would take them (and this one-shot) with it.
      // The whole object goes, with every other flow it hosts, as a real crash would.
      await this.ctx.storage.sync();
      this.ctx.abort(`injected crash at ${step}:${when}`);
    }

    async #disarm(id: string, armed: { crashAt?: string | undefined }): Promise<void> {
      armed.crashAt = undefined;
      await this.ctx.storage.delete(`crashAt:${id}`);
      await this.wake(id, Date.now() + 50);
    }
  }
  return WithTestFaults as unknown as C & FaultedClass;
}

/** Which flow a request's fault headers arm: the binding of its objects, its steps, and (optionally) the paths that start it. */
export interface FaultTarget {
  binding: string;
  steps: readonly string[];
  /** The request paths that start this flow; unset: every path. */
  path?: RegExp;
}

/**
 * The faults a request asks for, from its headers (`X-Test-Crash-At: <step>:<before|after|throw>`,
 * `X-Test-Refuse-At: <step>`); `route:throw` makes the route throw where it begins the flow (an
 * unexpected error, for error reporting). Undefined when it asks for none; an AppError (400)
 * when it names a step the flow does not have.
 */
export function faultsFromHeaders(
  headers: Headers,
  steps: readonly string[],
): (TestFaults & { routeThrow?: boolean }) | undefined {
  const point = headers.get("x-test-crash-at") ?? undefined;
  const refuse = headers.get("x-test-refuse-at") ?? undefined;
  if (!point && !refuse) return undefined;
  if (point === "route:throw") return { routeThrow: true };
  const known = new Set(steps);
  const [step, when] = point?.split(":") ?? [];
  if (point && !(step && known.has(step) && ["before", "after", "throw"].includes(when ?? ""))) {
    throw new AppError("bad_request", `Unknown crash point ${point}.`);
  }
  if (refuse && !known.has(refuse)) throw new AppError("bad_request", `Unknown step ${refuse}.`);
  return {
    ...(point ? { crashAt: point as CrashPoint } : {}),
    ...(refuse ? { refuseAt: refuse } : {}),
  };
}

type Fetch = (request: Request, env: never, ctx: ExecutionContext) => Response | Promise<Response>;

/**
 * The Worker `handler` with fault headers: a request that carries them reaches the handler with
 * its target's namespace wrapped, so the `begin` it calls first arms the new flow (or throws, for
 * `route:throw`). The header is read here, before the handler runs: a bad one is a 400 and the
 * request changes nothing. Requests without them reach the handler untouched.
 */
export function withFaultHeaders<H extends { fetch?: Fetch }>(handler: H, targets: readonly FaultTarget[]): H {
  const fetch = handler.fetch;
  if (!fetch) throw new Error("withFaultHeaders needs a handler with fetch");
  const faulted: Fetch = (request, env, ctx) => {
    const path = new URL(request.url).pathname;
    const target = targets.find((candidate) => candidate.path?.test(path) ?? true);
    if (!target) return fetch(request, env, ctx);
    let faults: ReturnType<typeof faultsFromHeaders>;
    try {
      faults = faultsFromHeaders(request.headers, target.steps);
      if (faults && isProduction(env)) throw new AppError("forbidden", "Fault injection is disabled in production.");
    } catch (error) {
      const requestId = request.headers.get("x-request-id") ?? crypto.randomUUID();
      const { problem, headers } = toProblem(error, { instance: path, requestId });
      return problemResponse(problem, { ...headers, "x-request-id": requestId });
    }
    if (!faults) return fetch(request, env, ctx);
    const bindings = env as Record<string, unknown>;
    const namespace = bindings[target.binding] as DurableObjectNamespace;
    return fetch(request, { ...bindings, [target.binding]: arming(namespace, faults) } as never, ctx);
  };
  return { ...handler, fetch: faulted };
}

/** A namespace whose stubs arm `faults` before the call that starts a flow (`begin`, or a host's `submit`). */
function arming(namespace: DurableObjectNamespace, faults: TestFaults & { routeThrow?: boolean }) {
  return new Proxy(namespace, {
    get(target, property) {
      if (property === "get") {
        return (id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions) =>
          armingStub(target.get(id, options), faults);
      }
      return forward(target, property);
    },
  });
}

/** The methods that start a flow, and where their first argument names it: `begin(subject)`, `submit({ subject })`. */
const starts = ["begin", "submit"];

function armingStub(stub: DurableObjectStub, faults: TestFaults & { routeThrow?: boolean }) {
  const starting =
    (method: string) =>
    async (input: { id?: string; subject?: { id: string } }, ...rest: unknown[]) => {
      if (faults.routeThrow) throw new Error("Injected failure in the route (test environments only).");
      const rpc = stub as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const id = input.subject?.id ?? input.id;
      if (id !== undefined) await rpc.armFaults?.(id, faults);
      return rpc[method]?.(input, ...rest);
    };
  return new Proxy(stub, {
    get: (target, property) =>
      typeof property === "string" && starts.includes(property) ? starting(property) : forward(target, property),
  });
}

/**
 * A property of `target`, methods bound to it. Through `Reflect.apply`: on an RPC stub, `.bind`
 * would itself be read as a remote property.
 */
function forward(target: object, property: string | symbol): unknown {
  const value = Reflect.get(target, property);
  return typeof value === "function"
    ? (...args: unknown[]) => Reflect.apply(value as (...rest: unknown[]) => unknown, target, args)
    : value;
}

export { type CanaryFault, parseCanaryFault } from "./canary-fault.ts";

/** `handler` whose requests reach the flow host `binding` through stubs with `fault`. */
export function withCanaryFault<H extends { fetch?: Fetch }>(handler: H, binding: string, fault: CanaryFault): H {
  const fetch = handler.fetch;
  if (!fetch) throw new Error("withCanaryFault needs a handler with fetch");
  const faulted: Fetch = (request, env, ctx) => {
    if (isProduction(env)) return fetch(request, env, ctx);
    const bindings = env as Record<string, unknown>;
    const namespace = bindings[binding] as DurableObjectNamespace;
    return fetch(request, { ...bindings, [binding]: faulting(namespace, fault) } as never, ctx);
  };
  return { ...handler, fetch: faulted };
}

function faulting(namespace: DurableObjectNamespace, fault: CanaryFault) {
  return new Proxy(namespace, {
    get(target, property) {
      if (property !== "get") return forward(target, property);
      return (id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions) => {
        const stub = target.get(id, options);
        const starting =
          (method: string) =>
          async (...args: unknown[]) => {
            if (fault.kind === "5xx" && Math.random() < fault.share) {
              throw new Error("Injected by the canary fault (test builds only).");
            }
            if (fault.kind === "latency") await new Promise((resolve) => setTimeout(resolve, fault.ms));
            return (stub as unknown as Record<string, (...rest: unknown[]) => Promise<unknown>>)[method]?.(...args);
          };
        return new Proxy(stub, {
          get: (inner, name) =>
            typeof name === "string" && starts.includes(name) ? starting(name) : forward(inner, name),
        });
      };
    },
  });
}

export { type BrokenBuild, brokenBuildKinds, hits, isBroken } from "./broken-build.ts";
