import { defineConfig } from "@edgebank/config";
import type { ProbeResult, RolloutPlan, RolloutState } from "@edgebank/durable-objects/rollout";
import { z } from "zod";

/**
 * The synthetic checks a new version passes at 0 % before any user reaches it: real requests
 * through the gateway, as the probe user (a customer with two EUR accounts, created once per
 * environment), each carrying `Cloudflare-Workers-Version-Overrides` so the Worker under
 * rollout answers with its new version.
 */
const probeConfig = defineConfig(
  z.object({
    GATEWAY: z.custom<Fetcher>((value) => typeof (value as Fetcher | undefined)?.fetch === "function"),
    PROBE_USERNAME: z.string().min(1),
    PROBE_PASSWORD: z.string().min(1),
    PROBE_CLIENT_ID: z.string().min(1).default("edgebank-app"),
  }),
);

type Check = RolloutPlan["probes"][number];

export async function runProbes(env: object, state: RolloutState, checks: readonly Check[]): Promise<ProbeResult[]> {
  let parsed: ReturnType<typeof probeConfig>;
  try {
    parsed = probeConfig(env);
  } catch (error) {
    // A version nobody could probe is not promoted: the rollout rolls back and says why.
    return [
      { check: "sign_in", ok: false, detail: `no probe user: ${error instanceof Error ? error.message : error}` },
    ];
  }
  const override = `${state.worker}="${state.canaryVersionId}"`;
  const call = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    headers.set("cloudflare-workers-version-overrides", override);
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    return parsed.GATEWAY.fetch(`https://gateway.internal${path}`, { ...init, headers });
  };
  const results: ProbeResult[] = [];
  const record = (check: Check, ok: boolean, detail: string) => results.push({ check, ok, detail });

  // Every check needs the probe user's token: signing in comes first, whether listed or not.
  const token = await call("/v1/auth/token", {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "password",
      username: parsed.PROBE_USERNAME,
      password: parsed.PROBE_PASSWORD,
      client_id: parsed.PROBE_CLIENT_ID,
    }),
  });
  const accessToken = token.ok ? ((await token.json()) as { access_token?: string }).access_token : undefined;
  if (checks.includes("sign_in") || !accessToken)
    record("sign_in", accessToken !== undefined, `token: ${token.status}`);
  if (!accessToken) return results;

  const others = checks.filter((check) => check !== "sign_in");
  if (others.length === 0) return results;
  const listed = await call("/v1/accounts", { token: accessToken });
  const accounts = listed.ok
    ? ((await listed.json()) as { items?: { id: string; currency: string }[] }).items?.filter(
        (a) => a.currency === "EUR",
      )
    : undefined;
  for (const check of others) {
    const [from, to] = accounts ?? [];
    if (!from || !to) {
      record(check, false, `the probe user needs two EUR accounts (accounts: ${listed.status})`);
      continue;
    }
    if (check === "balance") {
      const response = await call(`/v1/accounts/${from.id}/balance`, { token: accessToken });
      record(check, response.status === 200, `balance: ${response.status}`);
    } else if (check === "transfer") {
      // One cent to the probe user's other account and straight back: the probe moves no money in the end.
      const statuses: number[] = [];
      for (const [source, target] of [
        [from, to],
        [to, from],
      ] as const) {
        const response = await call("/v1/transfers", {
          method: "POST",
          token: accessToken,
          headers: {
            "content-type": "application/json",
            "idempotency-key": `probe-${state.id}-${crypto.randomUUID()}`,
          },
          body: JSON.stringify({
            fromAccountId: source.id,
            toAccountId: target.id,
            amount: "1",
            currency: "EUR",
            description: `rollout probe ${state.id}`,
          }),
        });
        statuses.push(response.status);
      }
      record(
        check,
        statuses.every((status) => status === 201),
        `transfers: ${statuses.join(", ")}`,
      );
    } else {
      const response = await call("/v1/orders", { token: accessToken });
      record(check, response.status === 200, `orders: ${response.status}`);
    }
  }
  return results;
}
