import type { AppEnv } from "@edgebank/http";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { gatewayConfig } from "./config.ts";

/** What the web Worker serves on the API's origin: the customer app, the operator console, the API reference. */
const sections = ["/app", "/console", "/docs"] as const;

/**
 * The web Worker's pages on the API's origin: its files as they are, with the
 * Content-Security-Policy that Worker gives them. Static files: no token, no limit (every call
 * they make is an API call, limited as any other).
 */
export function registerWebApp(app: OpenAPIHono<AppEnv>): void {
  for (const section of sections) {
    app.get(section, (c) => c.redirect(`${section}/`, 308));
    app.get(`${section}/*`, async (c) => {
      const url = new URL(c.req.url);
      const file = await gatewayConfig(c.env).WEB.fetch(
        new Request(`https://web.internal${url.pathname}${url.search}`, {
          headers: { accept: c.req.header("accept") ?? "*/*" },
          redirect: "manual",
        }),
      );
      return new Response(file.body, file);
    });
  }
}
