/**
 * The web Worker: the gateway sends it every GET under /app (the customer app), /console (the
 * operator console) and /docs (the API reference). It serves the built files at their own paths;
 * any other path under /app or /console is that app's page (the app routes in the browser). Every
 * answer carries a strict Content-Security-Policy: only same-origin scripts, styles and API calls
 * (the reference alone may use inline styles, which its renderer writes).
 */
const policy = (styles: string) =>
  "default-src 'none'; script-src 'self'; " +
  `style-src ${styles}; connect-src 'self'; img-src 'self' data:; font-src 'self'; ` +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const common: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

const sections = ["app", "console", "docs"] as const;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const section = sections.find((name) => url.pathname === `/${name}` || url.pathname.startsWith(`/${name}/`));
    const headers = {
      ...common,
      "content-security-policy": policy(section === "docs" ? "'self' 'unsafe-inline'" : "'self'"),
    };
    if (request.method !== "GET" && request.method !== "HEAD")
      return new Response(null, { status: 405, headers: { allow: "GET, HEAD", ...headers } });
    if (!section) return new Response("Not found", { status: 404, headers });
    let file = await env.ASSETS.fetch(new Request(url, request));
    if (file.status === 404 && section !== "docs") {
      // A path of the app itself (/app/callback, /console/…): its page, which routes in the browser.
      file = await env.ASSETS.fetch(new Request(new URL(`/${section}/`, url), request));
    }
    const response = new Response(file.body, file);
    for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    return response;
  },
} satisfies ExportedHandler<Env>;
