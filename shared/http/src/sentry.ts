import { isAppError } from "@edgebank/errors";
import {
  CloudflareClient,
  createTransport,
  dedupeIntegration,
  linkedErrorsIntegration,
  Scope,
} from "@sentry/cloudflare";
import { createStackParser, type StackFrame } from "@sentry/core";
import { versionIdOf } from "./telemetry.ts";

/**
 * Error reporting with Sentry (@sentry/cloudflare's client and transport) on every Worker,
 * Durable Object and cron: SENTRY_DSN (empty: off), release = the Workers version id,
 * environment = ENVIRONMENT, and the service, request id, trace id and user id as tags (no other
 * personal data). Only unexpected errors are reported: an AppError other than `internal` (a 4xx,
 * a business refusal, a dependency that is down, which the alerts watch) is an answer.
 *
 * One client per isolate, and wrappers of our own: the SDK's own Durable Object instrumentation
 * wraps every RPC call in a new isolation scope, span and flush, which cost a hot account a
 * quarter of its throughput (bench/README.md); here a call pays for a try/catch, and only an
 * error pays for Sentry.
 */

/** Whether an error is an expected outcome (never reported). */
export function isExpectedError(error: unknown): boolean {
  return isAppError(error) && error.code !== "internal";
}

/** V8's `    at name (file:line:column)` and `    at file:line:column`, as Sentry frames. */
const v8Frame = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/;
const stackParser = createStackParser([
  50,
  (line: string): StackFrame | undefined => {
    const match = v8Frame.exec(line);
    if (!match) return undefined;
    const [, fn, filename, lineno, colno] = match;
    return {
      function: fn ?? "?",
      filename,
      lineno: Number(lineno),
      colno: Number(colno),
      in_app: !filename?.includes("node_modules"),
    };
  },
]);

const clients = new Map<string, CloudflareClient>();

/** The isolate's Sentry client for this env (none without SENTRY_DSN). */
function clientFor(env: unknown): CloudflareClient | undefined {
  const vars = (env ?? {}) as { SENTRY_DSN?: unknown; SERVICE_VERSION?: unknown; ENVIRONMENT?: unknown };
  if (typeof vars.SENTRY_DSN !== "string" || vars.SENTRY_DSN === "") return undefined;
  const release = versionIdOf(env) ?? (typeof vars.SERVICE_VERSION === "string" ? vars.SERVICE_VERSION : "unknown");
  const environment = typeof vars.ENVIRONMENT === "string" ? vars.ENVIRONMENT : "development";
  const key = `${vars.SENTRY_DSN}\n${release}\n${environment}`;
  let client = clients.get(key);
  if (!client) {
    client = new CloudflareClient({
      dsn: vars.SENTRY_DSN,
      release,
      environment,
      stackParser,
      integrations: [dedupeIntegration(), linkedErrorsIntegration()],
      transport: (options) =>
        createTransport(options, async (request) => {
          const response = await fetch(options.url, { method: "POST", body: request.body });
          await response.body?.cancel();
          return { statusCode: response.status };
        }),
      beforeSend: (event, hint) => (isExpectedError(hint.originalException) ? null : event),
    });
    client.init();
    clients.set(key, client);
  }
  return client;
}

export interface ErrorContext {
  service: string;
  requestId?: string | undefined;
  traceId?: string | undefined;
  principal?: string | undefined;
}

/** Errors already reported, so a wrapper that sees one again does not send it twice. */
const reported = new WeakSet<object>();

/**
 * Reports an unexpected error once, tagged with the service, request and trace ids and the
 * user, and has it sent within the invocation (`waitUntil`).
 */
export function reportError(
  env: unknown,
  error: unknown,
  context: ErrorContext,
  waitUntil: (promise: Promise<unknown>) => void,
): void {
  if (isExpectedError(error)) return;
  if (typeof error === "object" && error !== null) {
    if (reported.has(error)) return;
    reported.add(error);
  }
  const client = clientFor(env);
  if (!client) return;
  const scope = new Scope();
  scope.setClient(client);
  scope.setTag("service", context.service);
  if (context.requestId) scope.setTag("request_id", context.requestId);
  if (context.traceId) {
    scope.setTag("trace_id", context.traceId);
    scope.setContext("trace", { trace_id: context.traceId });
  }
  if (context.principal) scope.setUser({ id: context.principal });
  client.captureException(error, { mechanism: { type: "edgebank", handled: false } }, scope);
  waitUntil(client.flush(2_000));
}

/** A promise's or a call's failure reported, then passed on unchanged. */
function reporting<T>(env: unknown, service: string, waitUntil: (promise: Promise<unknown>) => void, run: () => T): T {
  const report = (error: unknown) => {
    reportError(env, error, { service }, waitUntil);
    throw error;
  };
  try {
    const result = run();
    return result instanceof Promise ? (result.catch(report) as T) : result;
  } catch (error) {
    return report(error);
  }
}

/**
 * A Worker's handlers with what they throw reported: fetch (routes report through the error
 * handler, with their request and trace ids; this catches the rest), scheduled (including the
 * work it hands to waitUntil) and queue.
 */
export function withErrorReporting<H extends ExportedHandler<never>>(service: string, handler: H): H {
  const handlers = handler as unknown as Record<string, unknown>;
  const wrapped: Record<string, unknown> = { ...handlers };
  for (const name of ["fetch", "scheduled", "queue"] as const) {
    const original = handlers[name] as ((...args: unknown[]) => unknown) | undefined;
    if (!original) continue;
    wrapped[name] = (event: unknown, env: unknown, ctx: ExecutionContext) => {
      const waitUntil = (promise: Promise<unknown>) => ctx.waitUntil(promise);
      // Work handed to waitUntil is reported too (crons do theirs there).
      const reportingCtx = Object.create(ctx, {
        waitUntil: {
          value: (promise: Promise<unknown>) =>
            ctx.waitUntil(promise.catch((error: unknown) => reportError(env, error, { service }, waitUntil))),
        },
      }) as ExecutionContext;
      return reporting(env, service, waitUntil, () => original.call(handler, event, env, reportingCtx));
    };
  }
  return wrapped as unknown as H;
}

/**
 * A Durable Object class whose RPC methods and alarm report what they throw (the object's own
 * `ctx.waitUntil` sends the report).
 */
export function reportingDurableObject<C extends abstract new (...args: never[]) => object>(
  service: string,
  objectClass: C,
): C {
  const prototype = objectClass.prototype as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(prototype)) {
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
    if (name === "constructor" || typeof descriptor?.value !== "function") continue;
    const original = descriptor.value as (...args: unknown[]) => unknown;
    Object.defineProperty(prototype, name, {
      ...descriptor,
      value: function reported(this: { env?: unknown; ctx?: DurableObjectState }, ...args: unknown[]) {
        const waitUntil = (promise: Promise<unknown>) => this.ctx?.waitUntil(promise);
        return reporting(this.env, service, waitUntil, () => original.apply(this, args));
      },
    });
  }
  return objectClass;
}
