import { type Role, scopesByRole } from "@edgebank/auth";
import { isAppError } from "@edgebank/errors";
import type { ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { authConfig } from "../config.ts";
import { findPublicClient, issueCode, type PublicClient, redirectAllowed } from "../domain/authorization.ts";
import { authenticateUser } from "../domain/identity.ts";
import { splitOpenId } from "../domain/scopes.ts";
import { pageSecurityPolicy, refusalPage, signInPage } from "../pages/sign-in.ts";

/** The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1). */
const names = [
  "response_type",
  "client_id",
  "redirect_uri",
  "scope",
  "state",
  "nonce",
  "code_challenge",
  "code_challenge_method",
] as const;
type Parameters = Partial<Record<(typeof names)[number], string>>;

const query = z.object({
  response_type: z.literal("code"),
  client_id: z.string(),
  redirect_uri: z.string().describe("Exactly one of the client's registered redirect URIs"),
  code_challenge: z.string().describe("BASE64URL(SHA-256(code_verifier)), 43 characters"),
  code_challenge_method: z.literal("S256"),
  scope: z.string().optional().describe("`openid` for an ID token, and API scopes; default: all the role allows"),
  state: z.string().optional(),
  nonce: z.string().optional(),
});

const html = { "text/html": { schema: z.string() } };
const showRoute = createRoute({
  method: "get",
  path: "/v1/auth/authorize",
  tags: ["auth"],
  summary: "Authorization endpoint (authorization code with PKCE S256): the sign-in page",
  description:
    "Public clients (web and mobile apps) send the user here. An unknown client or an " +
    "unregistered redirect URI is refused on the page itself; any other error is sent to the " +
    "redirect URI as `error` with the `state`.",
  request: { query },
  responses: {
    200: { description: "The sign-in page", content: html },
    303: { description: "An error sent back to the client's redirect URI" },
    400: { description: "Unknown client or redirect URI: refused on the page", content: html },
  },
});
const submitRoute = createRoute({
  method: "post",
  path: "/v1/auth/authorize",
  tags: ["auth"],
  summary: "Sign in on the authorization page: a one-time code is sent to the redirect URI",
  request: {
    body: {
      content: {
        "application/x-www-form-urlencoded": {
          schema: query.extend({ email: z.string(), password: z.string() }),
        },
      },
    },
  },
  responses: {
    303: { description: "To the redirect URI with `code`, `state` and `iss` (valid 60 s, once)" },
    400: { description: "Unknown client or redirect URI: refused on the page", content: html },
    401: { description: "Wrong email or password (or the account is locked): the page again", content: html },
  },
});

const verifierChallenge = /^[A-Za-z0-9_-]{43}$/;

type Checked =
  | { kind: "refuse"; message: string }
  | { kind: "error"; error: string; description: string; client: PublicClient; redirectUri: string }
  | { kind: "ok"; client: PublicClient; redirectUri: string };

/** Checks a request in RFC 6749's order: client and redirect URI first, never redirecting before they are known. */
async function check(c: Context<ServiceEnv>, parameters: Parameters): Promise<Checked> {
  const client = parameters.client_id ? await findPublicClient(c.var.db(), parameters.client_id) : undefined;
  if (!client) return { kind: "refuse", message: "The application asking you to sign in is not registered." };
  const redirectUri = parameters.redirect_uri ?? "";
  if (!redirectAllowed(client.redirectUris, redirectUri, authConfig(c.env).TOKEN_ISSUER))
    return { kind: "refuse", message: "The application asked to return to an address it has not registered." };
  const error = (code: string, description: string): Checked => ({
    kind: "error",
    error: code,
    description,
    client,
    redirectUri,
  });
  if (parameters.response_type !== "code") return error("unsupported_response_type", "Only response_type=code.");
  if (parameters.code_challenge_method !== "S256" || !verifierChallenge.test(parameters.code_challenge ?? ""))
    return error("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256.");
  for (const name of ["state", "nonce", "scope"] as const)
    if ((parameters[name]?.length ?? 0) > 500) return error("invalid_request", `${name} is too long.`);
  return { kind: "ok", client, redirectUri };
}

/** Back to the client (303: the browser follows with a GET), with RFC 9207's `iss`. */
function toClient(c: Context<ServiceEnv>, redirectUri: string, values: Record<string, string | undefined>) {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(values)) if (value !== undefined) url.searchParams.set(name, value);
  url.searchParams.set("iss", authConfig(c.env).TOKEN_ISSUER);
  return c.redirect(url.toString(), 303);
}

const pick = (source: Record<string, unknown>): Parameters =>
  Object.fromEntries(names.flatMap((name) => (typeof source[name] === "string" ? [[name, source[name]]] : [])));

/** Headers of every answer of the page: never cached, and its own policy (the form posts here, then goes to the redirect URI). */
function pageHeaders(c: Context<ServiceEnv>, checked: Checked): void {
  c.header("cache-control", "no-store");
  c.header("content-security-policy", pageSecurityPolicy(checked.kind === "refuse" ? undefined : checked.redirectUri));
}

/** A request that cannot go on: refused on the page, or sent back to the client with its error. */
function stopped(c: Context<ServiceEnv>, checked: Exclude<Checked, { kind: "ok" }>, state: string | undefined) {
  if (checked.kind === "refuse") return c.html(refusalPage(checked.message), 400);
  return toClient(c, checked.redirectUri, { error: checked.error, error_description: checked.description, state });
}

/**
 * The authorization code flow with PKCE for public clients: GET shows the sign-in page, POST
 * checks the password (same lockout as the token endpoint; the gateway limits both per client
 * IP) and sends a one-time code to the registered redirect URI.
 */
export function registerAuthorize(app: OpenAPIHono<ServiceEnv>): void {
  app.get(showRoute.path, async (c) => {
    const parameters = pick(c.req.query());
    const checked = await check(c, parameters);
    pageHeaders(c, checked);
    if (checked.kind !== "ok") return stopped(c, checked, parameters.state);
    const carried = Object.fromEntries(Object.entries(parameters).filter(([, value]) => value !== undefined));
    return c.html(signInPage({ clientName: checked.client.name, parameters: carried as Record<string, string> }), 200);
  });
  app.openAPIRegistry.registerPath(showRoute);

  app.post(submitRoute.path, async (c) => {
    const form = Object.fromEntries(new URLSearchParams(await c.req.text()));
    const parameters = pick(form);
    const checked = await check(c, parameters);
    pageHeaders(c, checked);
    if (checked.kind !== "ok") return stopped(c, checked, parameters.state);
    const email = form.email ?? "";
    const db = c.var.db();
    let user: { id: string; role: string };
    try {
      user = await authenticateUser(db, email, form.password ?? "");
    } catch (error) {
      if (!isAppError(error)) throw error;
      const carried = Object.fromEntries(Object.entries(parameters).filter(([, value]) => value !== undefined));
      return c.html(
        signInPage({
          clientName: checked.client.name,
          parameters: carried as Record<string, string>,
          email,
          error: "The email or password is incorrect, or the account is locked for a while after failed attempts.",
        }),
        401,
      );
    }
    const { openid, apiScope } = splitOpenId(parameters.scope);
    const allowed = scopesByRole[user.role as Role] as readonly string[];
    const refusedScopes = apiScope.split(" ").filter((scope) => scope && !allowed.includes(scope));
    if (refusedScopes.length > 0)
      return toClient(c, checked.redirectUri, {
        error: "invalid_scope",
        error_description: `Not allowed: ${refusedScopes.join(", ")}.`,
        state: parameters.state,
      });
    const code = await issueCode(db, {
      clientId: checked.client.id,
      userId: user.id,
      redirectUri: checked.redirectUri,
      codeChallenge: parameters.code_challenge ?? "",
      scope: [openid ? "openid" : "", apiScope].filter(Boolean).join(" "),
      nonce: parameters.nonce,
      authTime: new Date(),
    });
    return toClient(c, checked.redirectUri, { code, state: parameters.state });
  });
  app.openAPIRegistry.registerPath(submitRoute);
}
