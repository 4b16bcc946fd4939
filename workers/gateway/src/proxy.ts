import type { Principal } from "@edgebank/auth";
import type { PublicRoute } from "@edgebank/contracts/public-routes";
import { type AppEnv, propagationHeaders } from "@edgebank/http";
import { PolicyRegistry } from "@edgebank/resilience";
import { withSpan } from "@edgebank/telemetry";
import type { Context } from "hono";
import type { GatewayConfig } from "./config.ts";
import { bindingOf } from "./services.ts";

const policies = new PolicyRegistry();

/** Headers that describe one hop and must not be forwarded (RFC 9110 §7.6.1), plus ours. */
const dropped = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "x-request-id",
  "traceparent",
  "cloudflare-workers-version-key",
  "cloudflare-workers-version-overrides",
]);

/**
 * A version override the caller sent (`Cloudflare-Workers-Version-Overrides`, an RFC 8941
 * dictionary of Worker name → version id), passed on: Cloudflare honours it on a service
 * binding's subrequest only when the calling Worker sets it, and only for a version in the
 * Worker's current deployment (how a rollout's probes reach a new version at 0 %).
 */
const overrideHeader = /^\s*[a-z][a-z0-9-]*="[0-9a-f-]{36}"(\s*,\s*[a-z][a-z0-9-]*="[0-9a-f-]{36}")*\s*$/;

/**
 * Forwards a request to the service behind `rule` through its binding: same method, path,
 * query and body (streamed, or the bytes already read for the idempotency fingerprint), the
 * caller's Authorization (every service verifies it again), the request id and trace, the
 * version-affinity key so one user stays on one version during a gradual deployment, and a
 * well-formed version override.
 * Never retried here: a POST may move money. A timeout, breaker and bulkhead per service apply.
 */
export async function forward(
  c: Context<AppEnv>,
  config: GatewayConfig,
  rule: PublicRoute,
  principal: Principal | undefined,
  body?: ArrayBuffer,
): Promise<Response> {
  const { service } = rule;
  const url = new URL(c.req.url);
  return withSpan(
    `${c.req.method} ${service}`,
    { kind: "client", attributes: { "http.request.method": c.req.method, "server.address": `${service}.internal` } },
    async (span) => {
      const headers = new Headers();
      for (const [name, value] of c.req.raw.headers) if (!dropped.has(name)) headers.set(name, value);
      const upgrade = rule.websocket && c.req.header("upgrade")?.toLowerCase() === "websocket";
      if (upgrade) headers.set("upgrade", "websocket");
      for (const [name, value] of Object.entries(propagationHeaders(c))) headers.set(name, value);
      if (principal) headers.set("cloudflare-workers-version-key", principal.subject);
      const overrides = c.req.header("cloudflare-workers-version-overrides");
      if (overrides && overrideHeader.test(overrides)) headers.set("cloudflare-workers-version-overrides", overrides);
      const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
      const policy = policies.get(`proxy:${service}`, {
        attemptTimeoutMs: config.PROXY_TIMEOUT_MS,
        retry: { maxAttempts: 1 },
      });
      const response = await policy.execute((signal) =>
        config[bindingOf(service)].fetch(
          new Request(`https://${service}.internal${url.pathname}${url.search}`, {
            method: c.req.method,
            headers,
            body: hasBody ? (body ?? c.req.raw.body) : null,
            redirect: "manual",
            signal,
          }),
        ),
      );
      span?.setAttributes({ "http.response.status_code": response.status });
      // A fresh Response: the binding's headers are immutable and the gateway adds its own.
      if (upgrade && response.webSocket)
        return new Response(null, { status: 101, headers: response.headers, webSocket: response.webSocket });
      return new Response(response.body, response);
    },
  );
}
