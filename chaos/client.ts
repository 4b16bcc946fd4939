/**
 * How a chaos client talks to the gateway: plain HTTP as any client would, a bearer token that
 * renews itself, and an answer that is either what the server said or the fact that nothing
 * came back (the connection dropped, or no answer within the timeout).
 */
import { type Session, signInWithPassword } from "@edgebank/client";

export type Answer =
  | { kind: "answer"; status: number; body: Record<string, unknown>; retryAfterMs?: number }
  | { kind: "lost"; reason: string };

/**
 * A signed-in user. A refresh whose answer was lost leaves a rotated refresh token the server
 * will not take again (reuse revokes the family), so a failed renewal signs in afresh.
 */
export class User {
  readonly email: string;
  readonly #password: string;
  readonly #base: string;
  readonly #ip: string;
  #session: Session;
  constructor(email: string, password: string, base: string, ip: string, session: Session) {
    this.email = email;
    this.#password = password;
    this.#base = base;
    this.#ip = ip;
    this.#session = session;
  }

  async token(): Promise<string> {
    try {
      return await this.#session.accessToken();
    } catch {
      this.#session = await passwordSession(this.#base, this.email, this.#password, this.#ip);
      return this.#session.accessToken();
    }
  }
}

function passwordSession(base: string, email: string, password: string, ip: string): Promise<Session> {
  return signInWithPassword({
    baseUrl: base,
    clientId: "edgebank-app",
    username: email,
    password,
    fetch: (input, init) => {
      const request = new Request(input, init);
      request.headers.set("cf-connecting-ip", ip);
      return fetch(request, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    },
  });
}

/** Every request gives up after this long: a request stuck behind a fault is an unknown outcome. */
const TIMEOUT_MS = 30_000;

export async function call(
  base: string,
  path: string,
  options: { user?: User; method?: string; body?: unknown; key?: string; ip?: string } = {},
): Promise<Answer> {
  const headers = new Headers();
  if (options.body !== undefined) headers.set("content-type", "application/json");
  if (options.key) headers.set("idempotency-key", options.key);
  if (options.ip) headers.set("cf-connecting-ip", options.ip);
  try {
    if (options.user) headers.set("authorization", `Bearer ${await options.user.token()}`);
    const response = await fetch(`${base}${path}`, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { text: text.slice(0, 200) };
    }
    const retryAfter = Number(response.headers.get("retry-after"));
    return {
      kind: "answer",
      status: response.status,
      body,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    };
  } catch (error) {
    const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : "";
    return { kind: "lost", reason: cause || String(error) };
  }
}

/**
 * The flow an answer is about: a transfer, payment or refund's `id`, or the id a 422 problem
 * names (`transferId`, `paymentId`, `refundId`).
 */
export function flowIdOf(body: Record<string, unknown>): string | undefined {
  return [body.id, body.transferId, body.paymentId, body.refundId].find((v): v is string => typeof v === "string");
}

/** Signs a user in (the password grant, as first-party test clients do), retrying through faults. */
export async function signIn(
  base: string,
  email: string,
  password: string,
  ip: string,
  deadline: number,
): Promise<User> {
  for (;;) {
    try {
      return new User(email, password, base, ip, await passwordSession(base, email, password, ip));
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}
