import { AppError } from "@edgebank/errors";
import type { Logger } from "@edgebank/http";
import { PolicyRegistry } from "@edgebank/resilience";
import type { GatewayConfig } from "./config.ts";
import { redis } from "./redis.ts";

/** How long a first request holds its key before it is presumed dead. */
const IN_FLIGHT_MS = 60_000;
/** How long a final response is replayed. */
const RETAIN_MS = 24 * 60 * 60 * 1000;
/** Responses larger than this are not kept (a replay then answers 409 until the key expires). */
const MAX_STORED_BODY = 256 * 1024;
const keyPattern = /^[\x21-\x7e]{1,255}$/;
const policies = new PolicyRegistry();

type StoredRequest =
  /** `claim`: who holds it, so a claim retried after a lost answer recognises itself. */
  | { state: "in_flight"; fingerprint: string; claim?: string }
  | { state: "done"; fingerprint: string; status: number; headers: Record<string, string>; body: string };

/** The Redis commands the fast path uses (the Upstash client; tests wrap it to lose answers). */
export type IdempotencyStore = Pick<ReturnType<typeof redis>, "set" | "get" | "del">;

/** Headers of a stored response worth replaying. */
const replayedHeaders = ["content-type", "location", "cache-control"];

/**
 * Whether a service's answer is the key's final answer, the only kind kept (ARCHITECTURE §6):
 * never a 5xx, a 202 "still running", a 429, a 408, an answer that asks for a retry
 * (Retry-After), or the service's own "still in progress" 409.
 */
export function isFinalAnswer(response: Response, body: string): boolean {
  const { status } = response;
  if (status >= 500 || status === 202 || status === 408 || status === 425 || status === 429) return false;
  if (response.headers.has("retry-after")) return false;
  if (status === 409) {
    try {
      return (JSON.parse(body) as { code?: unknown }).code !== "idempotency_in_progress";
    } catch {
      return true;
    }
  }
  return true;
}

export function requireIdempotencyKey(header: string | undefined): string {
  if (header === undefined) {
    throw new AppError(
      "bad_request",
      "This request moves money: send an Idempotency-Key header (a UUID is a good choice).",
    );
  }
  if (!keyPattern.test(header))
    throw new AppError("bad_request", "The Idempotency-Key must be 1 to 255 visible ASCII characters.");
  return header;
}

/** SHA-256 over method, path with query, and the exact body bytes. */
export async function fingerprint(method: string, pathAndQuery: string, body: ArrayBuffer): Promise<string> {
  const head = new TextEncoder().encode(`${method} ${pathAndQuery}\n`);
  const bytes = new Uint8Array(head.length + body.byteLength);
  bytes.set(head);
  bytes.set(new Uint8Array(body), head.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The Idempotency-Key fast path (Stripe; draft-ietf-httpapi-idempotency-key-header), scoped to
 * the caller: the first request claims the key; a retry with the same fingerprint gets the
 * stored response with `Idempotent-Replayed: true`; a different fingerprint is 422; a retry
 * while the first is still running is 409. Only final answers are kept: server errors, 202s,
 * 429s and the service's own "in progress" release the key so the client's retry gets the truth. The owning service's database is the source of truth; this cache only answers early.
 */
export async function withIdempotency(
  config: GatewayConfig,
  log: Logger,
  scope: { principal: string; key: string; fingerprint: string },
  run: () => Promise<Response>,
  store: IdempotencyStore = redis(config),
): Promise<Response> {
  const redisKey = `${config.REDIS_KEY_PREFIX}:idem:${scope.principal}:${scope.key}`;
  const policy = policies.get("upstash-idempotency", { attemptTimeoutMs: 500, retry: { maxAttempts: 2 } });
  let claimed: boolean;
  const claim = crypto.randomUUID();
  try {
    const inFlight: StoredRequest = { state: "in_flight", fingerprint: scope.fingerprint, claim };
    claimed =
      (await policy.execute(() => store.set(redisKey, JSON.stringify(inFlight), { nx: true, px: IN_FLIGHT_MS }))) ===
      "OK";
  } catch (error) {
    // The fast path is down: the service's durable check still stops a double spend.
    log.warn("idempotency store unavailable: forwarding without the fast path", {
      error: error instanceof Error ? error.message : String(error),
    });
    return run();
  }

  if (!claimed) {
    const existing = await policy.execute(() => store.get<StoredRequest | string>(redisKey));
    const record = typeof existing === "string" ? (JSON.parse(existing) as StoredRequest) : existing;
    if (!record)
      throw new AppError("idempotency_in_progress", "A request with this Idempotency-Key just finished; retry it.", {
        headers: { "retry-after": "1" },
      });
    if (record.fingerprint !== scope.fingerprint) {
      throw new AppError("unprocessable", "This Idempotency-Key was used with a different request.");
    }
    // Our own claim, written by an attempt whose answer was lost (a timeout) and then retried.
    if (record.state === "in_flight" && record.claim === claim) return runClaimed();
    if (record.state === "in_flight") {
      throw new AppError("idempotency_in_progress", "A request with this Idempotency-Key is still being processed.", {
        headers: { "retry-after": "1" },
      });
    }
    const headers = new Headers(record.headers);
    headers.set("idempotent-replayed", "true");
    return new Response(record.status === 204 ? null : record.body, { status: record.status, headers });
  }

  return runClaimed();

  async function runClaimed(): Promise<Response> {
    let response: Response;
    try {
      response = await run();
    } catch (error) {
      await store.del(redisKey).catch(() => undefined);
      throw error;
    }
    const body = await response.text();
    if (!isFinalAnswer(response, body)) {
      // Not the key's answer: release it so a retry reaches the service, which knows the truth.
      await store.del(redisKey).catch(() => undefined);
      return new Response(response.status === 204 ? null : body, response);
    }
    const headers: Record<string, string> = {};
    for (const name of replayedHeaders) {
      const value = response.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    if (body.length <= MAX_STORED_BODY) {
      const done: StoredRequest = {
        state: "done",
        fingerprint: scope.fingerprint,
        status: response.status,
        headers,
        body,
      };
      await policy
        .execute(() => store.set(redisKey, JSON.stringify(done), { px: RETAIN_MS }))
        .catch((error: unknown) => {
          log.warn("idempotency result not stored", { error: error instanceof Error ? error.message : String(error) });
        });
    }
    return new Response(response.status === 204 ? null : body, response);
  }
}
