import { admit, type ContractRefusal, type RpcMethod } from "@edgebank/contracts";
import type { z } from "zod";
import { flushMetrics, writeRequestPoint } from "./metrics.ts";
import { traceWork } from "./telemetry.ts";

/** The HTTP status an RPC result stands for in the RED metrics (the dashboards and alerts read them alike). */
const statusOf: Record<string, number> = {
  applied: 200,
  found: 200,
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  refused: 422,
};

export interface RpcCall<M extends RpcMethod<z.ZodType>> {
  /** The service answering (`accounts`), its entrypoint class and the method called. */
  service: string;
  entrypoint: string;
  method: string;
  contract: M;
  env: object;
  ctx: ExecutionContext;
  input: unknown;
}

/**
 * Serves one RPC method of a WorkerEntrypoint: the caller named by its binding's props must be on
 * the method's allow-list and the input must match the contract, else the refusal is the answer
 * and nothing runs. Then `run` answers in a server span that continues the caller's trace (the
 * input's `traceparent`), what it throws is reported, and the call counts in the RED metrics as
 * route `rpc <Entrypoint>.<method>`, method `RPC`.
 */
export async function serveRpc<M extends RpcMethod<z.ZodType>, R extends { status: string }>(
  call: RpcCall<M>,
  run: (input: z.output<M["input"]>, caller: string) => Promise<R>,
): Promise<R | ContractRefusal> {
  const started = performance.now();
  const route = `rpc ${call.entrypoint}.${call.method}`;
  let status = 500;
  try {
    const admitted = admit(call.contract, `${call.service}.${call.method}`, call.ctx.props, call.input);
    if (!admitted.ok) {
      status = statusOf[admitted.refusal.status] ?? 400;
      return admitted.refusal;
    }
    const { input, caller } = admitted;
    const parent = (input as { traceparent?: unknown }).traceparent;
    const result = await traceWork(
      call.service,
      call.env,
      {
        name: route,
        kind: "server",
        ...(typeof parent === "string" ? { parent } : {}),
        attributes: {
          "rpc.system": "cloudflare_workers",
          "rpc.service": call.entrypoint,
          "rpc.method": call.method,
          "edgebank.caller": caller,
        },
        waitUntil: (promise) => call.ctx.waitUntil(promise),
      },
      async (span) => {
        const answer = await run(input, caller);
        span?.setAttributes({ "edgebank.outcome": answer.status });
        return answer;
      },
    );
    status = statusOf[result.status] ?? 200;
    return result;
  } finally {
    const version = (call.env as { SERVICE_VERSION?: unknown }).SERVICE_VERSION;
    writeRequestPoint(call.env, {
      service: call.service,
      version: typeof version === "string" ? version : "unknown",
      route,
      method: "RPC",
      status,
      durationMs: performance.now() - started,
    });
    call.ctx.waitUntil(flushMetrics(call.env));
  }
}

/**
 * The `serveRpc` of one entrypoint: its service, class name and contract bound once, so each
 * method names only itself, its input and what it does (`serve(this.env, this.ctx, "record",
 * input, run)`).
 */
export function rpcServer<C extends Record<string, RpcMethod<z.ZodType>>>(
  service: string,
  entrypoint: string,
  contract: C,
) {
  return <K extends keyof C & string, R extends { status: string }>(
    env: object,
    ctx: ExecutionContext,
    method: K,
    input: unknown,
    run: (input: z.output<C[K]["input"]>, caller: string) => Promise<R>,
  ): Promise<R | ContractRefusal> =>
    serveRpc({ service, entrypoint, method, contract: contract[method] as C[K], env, ctx, input }, run);
}
