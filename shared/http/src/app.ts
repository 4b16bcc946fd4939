import { OpenAPIHono } from "@hono/zod-openapi";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "./context.ts";
import { handleError, handleNotFound, validationHook } from "./errors.ts";
import { accessLog, type HttpSettings, limitBody, rejectMalformedJson, requestContext } from "./middleware.ts";
import { traceRequests } from "./telemetry.ts";

export interface CreateAppOptions {
  /** The service name, used in logs, health responses and the OpenAPI document. */
  service: string;
  /** Reads the worker's validated config (see @edgebank/config). */
  settings: (env: object) => HttpSettings;
  /** Whether JSON bodies are checked up front (services). The gateway streams bodies on instead. */
  parseJsonBodies?: boolean;
  /** Whether `/openapi.json` serves this app's own routes (the gateway assembles its own). */
  ownDocument?: boolean;
}

/**
 * The app every edgebank worker starts from: request id and trace context, JSON access log,
 * security headers, a body size limit, RFC 9457 errors for everything (zod failures, unknown
 * routes, malformed JSON, crashes), and its OpenAPI document at `/openapi.json`.
 */
export function createApp<E extends AppEnv>(options: CreateAppOptions): OpenAPIHono<E> {
  const app = new OpenAPIHono<E>({ defaultHook: validationHook });
  const base = app as unknown as OpenAPIHono<AppEnv>;
  base.use(requestContext(options.service, options.settings));
  base.use(traceRequests(options.service, options.settings));
  base.use(accessLog());
  base.use(
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      crossOriginResourcePolicy: "same-site",
      // A page that brings its own policy (the web app's files) keeps it; everything else gets these.
      overwrite: false,
    }),
  );
  base.use(limitBody(options.settings));
  if (options.parseJsonBodies ?? true) base.use(rejectMalformedJson());
  base.onError(handleError);
  base.notFound(handleNotFound);
  if (options.ownDocument ?? true)
    base.doc31("/openapi.json", (c) => ({
      openapi: "3.1.0",
      info: { title: `edgebank ${options.service}`, version: options.settings(c.env).SERVICE_VERSION },
    }));
  return app;
}
