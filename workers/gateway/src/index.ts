import { type AppEnv, createApp, registerHealth, withErrorReporting } from "@edgebank/http";
import { cors } from "hono/cors";
import { registerApiDocument } from "./api-document/route.ts";
import { gatewayConfig } from "./config.ts";
import { registerHealthAll } from "./health-all.ts";
import { registerRoutes } from "./routes.ts";
import { registerWebApp } from "./web-app.ts";

/**
 * The public API gateway. Bodies are streamed through to services untouched (no JSON parsing
 * here); each service validates its own input and verifies the caller's token again.
 */
const app = createApp<AppEnv>({
  service: "gateway",
  settings: gatewayConfig,
  parseJsonBodies: false,
  ownDocument: false,
});

// Browsers: an exact allow-list of origins; bearer tokens, never cookies, so no credentials.
app.use(
  cors({
    origin: (origin, c) => (gatewayConfig(c.env).CORS_ORIGINS.includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ["authorization", "content-type", "idempotency-key", "x-request-id", "traceparent"],
    exposeHeaders: [
      "x-request-id",
      "x-trace-id",
      "ratelimit",
      "ratelimit-policy",
      "retry-after",
      "idempotent-replayed",
      "location",
    ],
    maxAge: 600,
  }),
);

// The gateway owns no state: it is ready when it runs. /health/all reports the services.
registerHealth(app, { service: "gateway", settings: gatewayConfig, checks: {} });
registerHealthAll(app);
registerRoutes(app);
registerApiDocument(app);
registerWebApp(app);

export default withErrorReporting("gateway", { fetch: app.fetch } satisfies ExportedHandler<Env>);
