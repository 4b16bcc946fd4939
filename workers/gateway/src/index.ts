import { type AppEnv, createApp, registerHealth } from "@edgebank/http";
import { gatewayConfig } from "./config.ts";
import { registerHealthAll } from "./health-all.ts";

/**
 * The public API gateway. Bodies are streamed through to services untouched (no JSON parsing
 * here); each service validates its own input.
 */
const app = createApp<AppEnv>({ service: "gateway", settings: gatewayConfig, parseJsonBodies: false });

// The gateway owns no state: it is ready when it runs. /health/all reports the services.
registerHealth(app, { service: "gateway", settings: gatewayConfig, checks: {} });
registerHealthAll(app);

export default app;
