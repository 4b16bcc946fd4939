/**
 * Sign-in of a public client by authorization code with PKCE (S256): no secret in the page; the
 * tokens live in this tab's sessionStorage (gone with the tab) and are refreshed by the Session.
 */
import { createEdgebankClient, type EdgebankClient, Session, type Tokens } from "@edgebank/client";
import { base64url, describe, h } from "./dom.ts";

export interface SignInClient {
  clientId: string;
  /** Where the app lives ("/app"); its callback is `<path>/callback` on this origin. */
  path: string;
  scope: string;
}

const baseUrl = location.origin;
const storageKey = (client: SignInClient) => `edgebank.${client.clientId}`;
const redirectUri = (client: SignInClient) => `${baseUrl}${client.path}/callback`;

/** Sends the browser to the sign-in page with a fresh PKCE verifier, state and nonce. */
export async function signIn(client: SignInClient): Promise<void> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(`${storageKey(client)}.pkce`, JSON.stringify({ verifier, state }));
  const url = new URL(`${baseUrl}/v1/auth/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: redirectUri(client),
    scope: client.scope,
    state,
    nonce: base64url(crypto.getRandomValues(new Uint8Array(16))),
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  location.assign(url);
}

/** The callback: checks the state, exchanges the code with the verifier. */
async function finishSignIn(client: SignInClient): Promise<Tokens> {
  const parameters = new URLSearchParams(location.search);
  const key = `${storageKey(client)}.pkce`;
  const pending = JSON.parse(sessionStorage.getItem(key) ?? "{}") as { verifier?: string; state?: string };
  sessionStorage.removeItem(key);
  if (parameters.get("error")) throw new Error(parameters.get("error_description") ?? "Sign-in was refused.");
  if (!pending.verifier || parameters.get("state") !== pending.state)
    throw new Error("This sign-in answer does not belong to this tab: sign in again.");
  const response = await fetch(`${baseUrl}/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: parameters.get("code") ?? "",
      redirect_uri: redirectUri(client),
      client_id: client.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const tokens = (await response.json()) as Tokens;
  if (!response.ok) throw new Error("The sign-in could not be completed: sign in again.");
  history.replaceState(null, "", `${client.path}/`);
  return tokens;
}

/**
 * This tab's session: finishes a sign-in on the callback, or resumes the stored one; undefined
 * when the user has not signed in yet.
 */
export async function currentSession(client: SignInClient): Promise<Session | undefined> {
  const key = storageKey(client);
  if (location.pathname === `${client.path}/callback`)
    sessionStorage.setItem(key, JSON.stringify(await finishSignIn(client)));
  const stored = sessionStorage.getItem(key);
  if (!stored) return undefined;
  const keep = (tokens: Tokens) => sessionStorage.setItem(key, JSON.stringify(tokens));
  return new Session({ baseUrl, clientId: client.clientId }, JSON.parse(stored) as Tokens, keep);
}

/** Signs out: revokes the refresh token's family and forgets the tokens. */
export async function signOut(client: SignInClient, session: Session): Promise<void> {
  try {
    await session.signOut();
  } finally {
    sessionStorage.removeItem(storageKey(client));
    location.assign(`${client.path}/`);
  }
}

/** Forgets a session that no longer works (refused, expired). */
export const forgetSession = (client: SignInClient) => sessionStorage.removeItem(storageKey(client));

/**
 * Starts a signed-in app in `main`: the signed-in part with its API client and a sign-out
 * button, or the welcome with a sign-in button; a sign-in that failed says why and offers another.
 */
export async function startApp(
  client: SignInClient,
  main: HTMLElement,
  welcome: Array<Node | string>,
  signedIn: (api: EdgebankClient, session: Session, signOutButton: HTMLButtonElement) => Promise<void>,
): Promise<void> {
  const signInButton = () => {
    const button = h("button", { type: "button" }, "Sign in");
    button.addEventListener("click", () => void signIn(client));
    return button;
  };
  try {
    const session = await currentSession(client);
    if (session) {
      const api = createEdgebankClient({ baseUrl: location.origin, session });
      const button = h("button", { type: "button" }, "Sign out");
      button.addEventListener("click", () => void signOut(client, session));
      await signedIn(api, session, button);
    } else {
      main.replaceChildren(...welcome, signInButton());
    }
  } catch (error) {
    forgetSession(client);
    main.replaceChildren(h("h1", {}, "Sign in"), h("p", { role: "alert" }, describe(error)), signInButton());
  }
  main.focus();
}
