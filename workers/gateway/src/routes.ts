import type { Principal } from "@edgebank/auth";
import { type PublicRoute, publicRoutes } from "@edgebank/contracts/public-routes";
import { AppError } from "@edgebank/errors";
import type { AppEnv } from "@edgebank/http";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { authenticate } from "./authenticate.ts";
import { gatewayConfig } from "./config.ts";
import { fingerprint, requireIdempotencyKey, withIdempotency } from "./idempotency.ts";
import { forward } from "./proxy.ts";
import { admit, clientAddress } from "./rate-limit.ts";

/**
 * One request through the edge: per-IP limit (credentials endpoints, public documents), token and scope check,
 * per-principal limit (the API), the Idempotency-Key fast path for money-moving POSTs, then
 * the service. Every answer carries the RateLimit headers of the limit it was counted in.
 */
function handler(rule: PublicRoute) {
  return async function proxyRoute(c: Context<AppEnv>): Promise<Response> {
    const config = gatewayConfig(c.env);
    const log = c.get("log");
    // The headers of the limit this request was counted in (per IP before the token, or per principal).
    let limited: Record<string, string> = {};
    if (rule.limit !== "api") limited = await admit(config, rule.limit, clientAddress(c.req), log);
    let principal: Principal | undefined;
    if (rule.access !== "public") principal = await authenticate(config, c.req.header("authorization"), rule.access);
    if (rule.limit === "api" && principal) limited = await admit(config, "api", principal.subject, log);

    let response: Response;
    if (rule.idempotent) {
      if (!principal) throw new AppError("internal", "An idempotent route must be authenticated.");
      const key = requireIdempotencyKey(c.req.header("idempotency-key"));
      const body = await c.req.arrayBuffer();
      const url = new URL(c.req.url);
      const scope = {
        principal: principal.subject,
        key,
        fingerprint: await fingerprint(c.req.method, url.pathname + url.search, body),
      };
      const caller = principal;
      response = await withIdempotency(config, log, scope, () => forward(c, config, rule, caller, body));
    } else {
      response = await forward(c, config, rule, principal);
    }
    for (const [name, value] of Object.entries(limited)) response.headers.set(name, value);
    return response;
  };
}

/** Registers every public route (`@edgebank/contracts`) on the gateway's router. */
export function registerRoutes(app: OpenAPIHono<AppEnv>): void {
  for (const rule of publicRoutes) app.on(rule.method, rule.path, handler(rule));
}
