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
import {
  checkRateLimit,
  type LimitClass,
  type LimitDecision,
  rateLimitHeaders,
  tooManyRequests,
} from "./rate-limit.ts";

/**
 * One request through the edge: per-IP limit (credentials endpoints, public documents), token and scope check,
 * per-principal limit (the API), the Idempotency-Key fast path for money-moving POSTs, then
 * the service. Every answer carries the RateLimit headers of the limit it was counted in.
 */
function handler(rule: PublicRoute) {
  return async function proxyRoute(c: Context<AppEnv>): Promise<Response> {
    const config = gatewayConfig(c.env);
    const log = c.get("log");
    let counted: { kind: LimitClass; decision: LimitDecision } | undefined;
    const count = async (kind: LimitClass, identifier: string) => {
      const decision = await checkRateLimit(config, kind, identifier, log);
      counted = { kind, decision };
      if (!decision.allowed) throw tooManyRequests(kind, decision);
    };

    if (rule.limit !== "api") await count(rule.limit, `ip:${c.req.header("cf-connecting-ip") ?? "unknown"}`);
    let principal: Principal | undefined;
    if (rule.access !== "public") principal = await authenticate(config, c.req.header("authorization"), rule.access);
    if (rule.limit === "api" && principal) await count("api", principal.subject);

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
    if (counted)
      for (const [name, value] of Object.entries(rateLimitHeaders(counted.kind, counted.decision)))
        response.headers.set(name, value);
    return response;
  };
}

/** Registers every public route (`@edgebank/contracts`) on the gateway's router. */
export function registerRoutes(app: OpenAPIHono<AppEnv>): void {
  for (const rule of publicRoutes) app.on(rule.method, rule.path, handler(rule));
}
