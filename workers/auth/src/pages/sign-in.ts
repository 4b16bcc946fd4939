/** HTML-escapes text and attribute values. */
const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (character) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[character] ?? character,
  );

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
  <head><meta charset="utf-8"><title>Sign-in request refused</title></head>
  <body><main><h1>This sign-in request cannot be served</h1><p role="alert">${escapeHtml(message)}</p></main></body>
</html>
`;
}
