/**
 * The typed client of edgebank's public API: `openapi-fetch` over the types generated from the
 * gateway's OpenAPI document (src/schema.d.ts), plus what every client of a payments API
 * needs: a session that signs in and refreshes its tokens, Idempotency-Keys, and RFC 9457
 * problems as errors.
 *
 * ```ts
 * const session = await signInWithPassword({ baseUrl, clientId: "edgebank-app", username, password });
 * const api = createEdgebankClient({ baseUrl, session });
 * const transfer = await unwrap(
 *   api.POST("/v1/transfers", { params: { header: { "Idempotency-Key": idempotencyKey() } }, body }),
 * );
 * ```
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.d.ts";

export type { components, paths };
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type EdgebankClient = Client<paths>;

/** An RFC 9457 problem the API answered, as an Error: branch on `code`, show `detail`. */
export class ProblemError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.name = "ProblemError";
    this.status = problem.status;
    this.code = problem.code;
    this.problem = problem;
  }
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "status" in value && "code" in value && "title" in value;
}

/**
 * The data of a successful answer, or a ProblemError for a problem answer; anything else that
 * is not a success (a proxy's HTML error page) becomes a ProblemError with code `unexpected`.
 */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }> | { data?: T; error?: unknown; response: Response },
): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  if (isProblem(error)) throw new ProblemError(error);
  throw new ProblemError({
    type: "about:blank",
    title: response.statusText || "Unexpected answer",
    status: response.status,
    detail: `The API answered ${response.status} without a problem document.`,
    instance: new URL(response.url || "http://unknown/").pathname,
    code: "unexpected",
    requestId: response.headers.get("x-request-id") ?? "",
  });
}

/** A new Idempotency-Key: one per intent, reused when the same intent is sent again. */
export const idempotencyKey = (): string => crypto.randomUUID();

/** What the token endpoint answers (access and refresh tokens, an ID token for `openid`). */
export type Tokens = Schemas["TokenResponse"];

export interface TokenEndpoint {
  baseUrl: string;
  clientId: string;
  fetch?: typeof fetch;
}

async function requestTokens(endpoint: TokenEndpoint, parameters: Record<string, string>): Promise<Tokens> {
  const response = await (endpoint.fetch ?? fetch)(`${endpoint.baseUrl}/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...parameters, client_id: endpoint.clientId }),
  });
  const body = (await response.json().catch(() => ({}))) as unknown;
  if (!response.ok) return unwrap({ error: body, response });
  return body as Tokens;
}

/**
 * Tokens that renew themselves: `accessToken()` refreshes (rotating the refresh token) when
 * the access token has less than `marginSeconds` left. Refreshes never overlap: a rotated
 * refresh token used twice revokes its whole family.
 */
export class Session {
  #tokens: Tokens;
  #expiresAt: number;
  #refreshing: Promise<Tokens> | undefined;

  private readonly endpoint: TokenEndpoint;
  private readonly onRenew: (tokens: Tokens) => void;
  private readonly marginSeconds: number;

  // Plain fields, no parameter properties: Node runs this file as it is (type stripping).
  constructor(
    endpoint: TokenEndpoint,
    tokens: Tokens,
    /** Called with every renewal: keep the new tokens where the old ones were kept. */
    onRenew: (tokens: Tokens) => void = () => {},
    marginSeconds = 30,
  ) {
    this.endpoint = endpoint;
    this.onRenew = onRenew;
    this.marginSeconds = marginSeconds;
    this.#tokens = tokens;
    this.#expiresAt = Date.now() + tokens.expires_in * 1000;
  }

  get tokens(): Tokens {
    return this.#tokens;
  }

  async accessToken(): Promise<string> {
    if (Date.now() > this.#expiresAt - this.marginSeconds * 1000) await this.refresh();
    return this.#tokens.access_token;
  }

  /** Exchanges the refresh token for new tokens now. */
  async refresh(): Promise<Tokens> {
    const refreshToken = this.#tokens.refresh_token;
    if (!refreshToken) throw new Error("this session has no refresh token: sign in again");
    this.#refreshing ??= requestTokens(this.endpoint, { grant_type: "refresh_token", refresh_token: refreshToken })
      .then((tokens) => {
        this.#tokens = tokens;
        this.#expiresAt = Date.now() + tokens.expires_in * 1000;
        this.onRenew(tokens);
        return tokens;
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** Revokes the refresh token's family (RFC 7009): every device of this sign-in is signed out. */
  async signOut(): Promise<void> {
    const token = this.#tokens.refresh_token;
    if (!token) return;
    await (this.endpoint.fetch ?? fetch)(`${this.endpoint.baseUrl}/v1/auth/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, token_type_hint: "refresh_token" }),
    });
  }
}

/**
 * Signs in with the password grant: first-party test clients only (it is off in production;
 * apps use the authorization code flow with PKCE).
 */
export async function signInWithPassword(
  options: TokenEndpoint & { username: string; password: string; scope?: string },
): Promise<Session> {
  const { username, password, scope, ...endpoint } = options;
  const tokens = await requestTokens(endpoint, {
    grant_type: "password",
    username,
    password,
    ...(scope ? { scope } : {}),
  });
  return new Session(endpoint, tokens);
}

/** The API client. With a session, every request carries its (renewed) access token. */
export function createEdgebankClient(options: {
  baseUrl: string;
  session?: Session;
  fetch?: typeof fetch;
}): EdgebankClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const { session } = options;
  if (session)
    client.use({
      async onRequest({ request }) {
        request.headers.set("authorization", `Bearer ${await session.accessToken()}`);
        return request;
      },
    });
  return client;
}
