/**
 * The web app's Worker: the gateway sends it every GET under /app; it serves the built files
 * (the path without /app; any other path is the app itself, which routes in the browser) with
 * the security headers every page needs. Only same-origin scripts, styles and API calls run.
 */
const securityHeaders: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD")
      return new Response(null, { status: 405, headers: { allow: "GET, HEAD", ...securityHeaders } });
    url.pathname = url.pathname.replace(/^\/app(?=\/|$)/, "") || "/";
    const file = await env.ASSETS.fetch(new Request(url, request));
    const response = new Response(file.body, file);
    for (const [name, value] of Object.entries(securityHeaders)) response.headers.set(name, value);
    return response;
  },
} satisfies ExportedHandler<Env>;
