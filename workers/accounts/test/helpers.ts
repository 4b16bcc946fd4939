import { env, exports } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";

/** A caller: a fresh user id and an access token for it (customer scopes unless told otherwise). */
export function customer(scope = CUSTOMER) {
  return testCaller(env, scope);
}

export const CUSTOMER = "accounts:read accounts:write transfers:read transfers:write";

export function call(path: string, token: string | undefined, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  return exports.default.fetch(new Request(`https://accounts.internal${path}`, { ...init, headers }));
}

export async function openAccount(
  token: string,
  currency = "EUR",
): Promise<{ id: string; ownerId: string; currency: string }> {
  const response = await call("/v1/accounts", token, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ currency }),
  });
  if (response.status !== 201) throw new Error(`open failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; ownerId: string; currency: string };
}
