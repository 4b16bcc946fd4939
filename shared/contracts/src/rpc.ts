import type { z } from "zod";

/**
 * One internal method: what it takes, and which callers may call it. The caller is the name its
 * service binding gives it (`props.caller` on the binding, set in the caller's wrangler.toml), so
 * a Worker without a binding cannot reach the method at all, and a Worker with a binding but not
 * on the list is refused before anything runs.
 */
export interface RpcMethod<Input extends z.ZodType> {
  input: Input;
  callers: readonly string[];
}

/** The contract of one service's entrypoint: its methods by name. */
export type RpcContract = Record<string, RpcMethod<z.ZodType>>;

/**
 * A refusal that crosses the binding as a value, with its reason (what a caller branches on) and
 * a detail for people. Business refusals are the callee's own reasons; these two are the contract's.
 */
export type ContractRefusal =
  | { status: "forbidden"; reason: "caller_not_allowed"; detail: string }
  | { status: "invalid"; reason: "invalid_input"; detail: string };

/** The caller a binding names in its props, if any. */
export function callerOf(props: unknown): string | undefined {
  const caller = (props as { caller?: unknown } | undefined)?.caller;
  return typeof caller === "string" && caller !== "" ? caller : undefined;
}

/**
 * Checks a call against its method's contract: the caller on the allow-list, the input valid.
 * Answers the parsed input, or the refusal to return as it is.
 */
export function admit<M extends RpcMethod<z.ZodType>>(
  method: M,
  name: string,
  props: unknown,
  input: unknown,
): { ok: true; input: z.output<M["input"]>; caller: string } | { ok: false; refusal: ContractRefusal } {
  const caller = callerOf(props);
  if (caller === undefined || !method.callers.includes(caller)) {
    return {
      ok: false,
      refusal: {
        status: "forbidden",
        reason: "caller_not_allowed",
        detail: `${caller ? `Caller ${caller}` : "A caller that names none"} may not call ${name}.`,
      },
    };
  }
  const parsed = method.input.safeParse(input);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => issue.path.join(".") || "(input)");
    return {
      ok: false,
      refusal: {
        status: "invalid",
        reason: "invalid_input",
        detail: `Invalid input to ${name}: ${[...new Set(where)].join(", ")}.`,
      },
    };
  }
  return { ok: true, input: parsed.data as z.output<M["input"]>, caller };
}
