import { defineConfig } from "@edgebank/config";
import type { ProbeResult, RolloutPlan, RolloutState } from "@edgebank/durable-objects/rollout";
import { z } from "zod";

/**
 * The synthetic checks a new version passes at 0 % before any user reaches it: real requests
 * through the gateway, as the probe user (a customer with two EUR accounts, created once per
 * environment), each carrying `Cloudflare-Workers-Version-Overrides` so the Worker under
 * rollout answers with its new version. None moves money in the end: the transfer goes there
 * and back, and the order is for the probe product (PROBE_SKU), kept out of stock, so it is
 * placed, held for and cancelled for want of stock, its hold released.
 */
const probeConfig = defineConfig(
  z.object({
    GATEWAY: z.custom<Fetcher>((value) => typeof (value as Fetcher | undefined)?.fetch === "function"),
    PROBE_USERNAME: z.string().min(1),
    PROBE_PASSWORD: z.string().min(1),
    PROBE_CLIENT_ID: z.string().min(1).default("edgebank-probe"),
    PROBE_SKU: z.string().min(1).default("EDGEBANK-PROBE"),
  }),
);

/** How long the order probe waits for its order's saga to end. */
const ORDER_PROBE_WAIT_MS = 20_000;

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
      const outcome = await probeOrder(call, accessToken, from.id, parsed.PROBE_SKU, state.id);
      record(check, outcome.ok, outcome.detail);
    }
  }
  return results;
}

type Call = (path: string, init?: RequestInit & { token?: string }) => Promise<Response>;

/**
 * One order of the out-of-stock probe product, followed to its end: placed (202), then cancelled
 * by the saga with `out_of_stock:<sku>`. Any other end is a failure, named.
 */
async function probeOrder(
  call: Call,
  token: string,
  payerAccountId: string,
  sku: string,
  rolloutId: string,
): Promise<{ ok: boolean; detail: string }> {
  const placed = await call("/v1/orders", {
    method: "POST",
    token,
    headers: { "content-type": "application/json", "idempotency-key": `probe-${rolloutId}-${crypto.randomUUID()}` },
    body: JSON.stringify({ payerAccountId, lines: [{ sku, quantity: 1 }] }),
  });
  if (placed.status !== 202) return { ok: false, detail: `order: ${placed.status}` };
  const { id } = (await placed.json()) as { id: string };
  const expected = `out_of_stock:${sku}`;
  for (const deadline = Date.now() + ORDER_PROBE_WAIT_MS; Date.now() < deadline; ) {
    const read = await call(`/v1/orders/${id}`, { token });
    if (!read.ok) return { ok: false, detail: `order: 202, then ${read.status} reading it` };
    const order = (await read.json()) as { status: string; reason?: string };
    if (order.status === "CANCELLED" && order.reason === expected) {
      return { ok: true, detail: `order: 202, CANCELLED ${expected}` };
    }
    if (order.status === "CONFIRMED" || order.status === "CANCELLED") {
      return {
        ok: false,
        detail: `order: 202, ${order.status}${order.reason ? ` ${order.reason}` : ""} (expected CANCELLED ${expected}: ${sku} must stay out of stock)`,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { ok: false, detail: `order: 202, not ended within ${ORDER_PROBE_WAIT_MS / 1000} s` };
}
