import { bindingWith, defineConfig } from "@edgebank/config";
import { AppError } from "@edgebank/errors";
import { z } from "zod";

/**
 * A service's own identity towards other services: a machine client at auth (its id a var,
 * its secret a Workers secret), whose client_credentials token is fetched over the AUTH binding
 * and kept until a minute before it expires. Callees verify it like any access token and check
 * its service scopes (accounts:operate, ledger:write).
 */
const credentialVars = defineConfig(
  z.object({
    AUTH: bindingWith("fetch").transform((binding) => binding as unknown as Fetcher),
    SERVICE_CLIENT_ID: z.string().min(1),
    SERVICE_CLIENT_SECRET: z.string().min(1),
  }),
);

interface CachedToken {
  token: string;
  /** Epoch ms after which it is fetched again. */
  refreshAt: number;
}

const tokens = new Map<string, CachedToken>();

/**
 * An access token of this service for `scope` (space-separated), from cache or from auth.
 * Only tokens are shared between requests, never a fetch in flight: a request waiting on
 * another request's I/O is cancelled by workerd as hung, so a cold isolate under concurrent
 * load fetches a few tokens at once instead.
 */
export async function serviceToken(env: object, scope: string, now = Date.now()): Promise<string> {
  const config = credentialVars(env);
  const key = `${config.SERVICE_CLIENT_ID} ${scope}`;
  const cached = tokens.get(key);
  if (cached && cached.refreshAt > now) return cached.token;
  const { token, expiresIn } = await fetchToken(config, scope);
  tokens.set(key, { token, refreshAt: Date.now() + Math.max(0, expiresIn - 60) * 1000 });
  return token;
}

/** Forgets the cached token (a callee answered 401: the key may have rotated). */
export function forgetServiceToken(env: object, scope: string): void {
  tokens.delete(`${credentialVars(env).SERVICE_CLIENT_ID} ${scope}`);
}

async function fetchToken(
  config: ReturnType<typeof credentialVars>,
  scope: string,
): Promise<{ token: string; expiresIn: number }> {
  let response: Response;
  try {
    response = await config.AUTH.fetch("https://auth.internal/v1/auth/token", {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: config.SERVICE_CLIENT_ID,
        client_secret: config.SERVICE_CLIENT_SECRET,
        scope,
      }),
      signal: AbortSignal.timeout(5_000),
    });
  } catch (error) {
    throw new AppError("dependency_unavailable", "The auth service could not be reached.", { cause: error });
  }
  if (!response.ok) {
    const detail = await response.text();
    throw new AppError("dependency_unavailable", `The auth service refused this service's credentials.`, {
      cause: new Error(`${response.status} ${detail.slice(0, 300)}`),
    });
  }
  const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
  if (typeof body.access_token !== "string" || typeof body.expires_in !== "number") {
    throw new AppError("dependency_unavailable", "The auth service answered without a token.");
  }
  return { token: body.access_token, expiresIn: body.expires_in };
}
