import { isAppError } from "@edgebank/errors";
import { captureException, instrumentDurableObjectWithSentry, withScope, withSentry } from "@sentry/cloudflare";
import { versionIdOf } from "./telemetry.ts";

/**
 * Error reporting with Sentry (@sentry/cloudflare) on every Worker, Durable Object and cron:
 * SENTRY_DSN (empty: off), release = the Workers version id, environment = ENVIRONMENT, and the
 * request id, trace id and user id as tags (no other personal data). Only unexpected errors are
 * reported: an AppError other than `internal` (a 4xx, a business refusal, a dependency that is
 * down, which the alerts watch) is an answer, not a bug.
 */

type SentryOptions = NonNullable<ReturnType<Parameters<typeof withSentry>[0]>>;

/** Whether an error is an expected outcome (never reported). */
export function isExpectedError(error: unknown): boolean {
  return isAppError(error) && error.code !== "internal";
}

/** The SDK's options for a service, from its env; undefined (not initialised) without SENTRY_DSN. */
export function sentryOptions(service: string): (env: unknown) => SentryOptions | undefined {
  return (env) => {
    const vars = (env ?? {}) as { SENTRY_DSN?: unknown; SERVICE_VERSION?: unknown; ENVIRONMENT?: unknown };
    if (typeof vars.SENTRY_DSN !== "string" || vars.SENTRY_DSN === "") return undefined;
    return {
      dsn: vars.SENTRY_DSN,
      release: versionIdOf(env) ?? (typeof vars.SERVICE_VERSION === "string" ? vars.SERVICE_VERSION : "unknown"),
      environment: typeof vars.ENVIRONMENT === "string" ? vars.ENVIRONMENT : "development",
      sendDefaultPii: false,
      initialScope: { tags: { service } },
      beforeSend: (event, hint) => (isExpectedError(hint.originalException) ? null : event),
    };
  };
}

/** A Worker's handlers (fetch, scheduled, queue) with Sentry initialised per invocation. */
export function withErrorReporting<H extends ExportedHandler<never>>(service: string, handler: H): H {
  return withSentry(sentryOptions(service) as never, handler as never) as H;
}

/** A Durable Object class whose RPC methods and alarm report what they throw. */
export function reportingDurableObject<C>(service: string, objectClass: C): C {
  return instrumentDurableObjectWithSentry(sentryOptions(service) as never, objectClass as never) as C;
}

/**
 * Reports an unexpected error once, tagged with the request and trace ids and the user. The
 * SDK marks the error captured, so a wrapper that sees it again does not send it twice.
 */
export function reportError(
  error: unknown,
  context: { requestId?: string | undefined; traceId?: string | undefined; principal?: string | undefined },
): void {
  if (isExpectedError(error)) return;
  withScope((scope) => {
    if (context.requestId) scope.setTag("request_id", context.requestId);
    if (context.traceId) {
      scope.setTag("trace_id", context.traceId);
      scope.setContext("trace", { trace_id: context.traceId });
    }
    if (context.principal) scope.setUser({ id: context.principal });
    captureException(error);
  });
}
