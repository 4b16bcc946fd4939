import type { AppEnv } from "@edgebank/http";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { gatewayConfig } from "./config.ts";

/**
 * The web app at /app on the API's origin: its files come from the web Worker as they are,
 * with the Content-Security-Policy that Worker gives them. Static files: no token, no limit.
 */
export function registerWebApp(app: OpenAPIHono<AppEnv>): void {
  app.get("/app", (c) => c.redirect("/app/", 308));
  app.get("/app/*", async (c) => {
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
