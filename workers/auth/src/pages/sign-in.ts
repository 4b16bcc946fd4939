import { createHash } from "node:crypto";

/** HTML-escapes text and attribute values. */
const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (character) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[character] ?? character,
  );

/** The pages' one stylesheet, inline and allowed by its hash (pageSecurityPolicy). */
const style = `
body { margin: 0; font-family: system-ui, sans-serif; color: #1b1f23; background: #f6f7f9; }
main { max-width: 24rem; margin: 3rem auto; padding: 1.5rem; background: #fff; border: 1px solid #d8dde3; border-radius: 6px; }
h1 { font-size: 1.4rem; margin-top: 0; }
label { font-weight: 600; }
input, button { font: inherit; width: 100%; box-sizing: border-box; padding: 0.45rem 0.5rem; margin-top: 0.25rem; }
button { background: #0b3d91; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
[role="alert"] { color: #a4001d; font-weight: 600; }
`;

/** The stylesheet's digest, as a CSP hash source names it. */
const styleHash = createHash("sha256").update(style, "utf8").digest("base64");

/**
 * The Content-Security-Policy of the auth pages: nothing but their own inline stylesheet (by
 * hash), forms posted to this origin and then sent on to `redirectTo` (browsers hold a form's
 * redirect to form-action too), never framed.
 */
export function pageSecurityPolicy(redirectTo?: string): string {
  let target = "";
  if (redirectTo) {
    const url = new URL(redirectTo);
    target = url.origin === "null" ? ` ${url.protocol}` : ` ${url.origin}`;
  }
  return [
    "default-src 'none'",
    `style-src 'sha256-${styleHash}'`,
    `form-action 'self'${target}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The sign-in page of the authorization code flow: one form, labelled fields in focus order,
 * the error announced to screen readers, no script. The authorization request travels in
 * hidden fields so the page keeps no state between showing and posting.
 */
export function signInPage(options: {
  clientName: string;
  parameters: Record<string, string>;
  email?: string;
  error?: string;
}): string {
  const hidden = Object.entries(options.parameters)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join("\n      ");
  const error = options.error
    ? `<p id="sign-in-error" role="alert">${escapeHtml(options.error)}</p>`
    : '<p id="sign-in-error" role="alert" hidden></p>';
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>Sign in to edgebank</title>
    <style>${style}</style>
  </head>
  <body>
    <main>
      <h1>Sign in to edgebank</h1>
      <p><strong>${escapeHtml(options.clientName)}</strong> asks to use your edgebank account.</p>
      ${error}
      <form method="post" action="/v1/auth/authorize" aria-describedby="sign-in-error">
      ${hidden}
        <p>
          <label for="email">Email</label><br>
          <input id="email" name="email" type="email" autocomplete="username" required autofocus value="${escapeHtml(options.email ?? "")}">
        </p>
        <p>
          <label for="password">Password</label><br>
          <input id="password" name="password" type="password" autocomplete="current-password" required>
        </p>
        <p><button type="submit">Sign in</button></p>
      </form>
    </main>
  </body>
</html>
`;
}

/** A request the page must not redirect anywhere (unknown client, unregistered redirect URI). */
export function refusalPage(message: string): string {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Sign-in request refused</title><style>${style}</style></head>
  <body><main><h1>This sign-in request cannot be served</h1><p role="alert">${escapeHtml(message)}</p></main></body>
</html>
`;
}
