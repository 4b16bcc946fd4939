/**
 * The rollout controller's probe user on a running stack: a customer with two EUR accounts, the
 * first holding a euro, so a new version's probes can sign in, read a balance and move a cent
 * back and forth; and the probe product their order probe orders (`PROBE_SKU`, one cent, never
 * in stock), listed by a probe shop, a merchant of its own (docs/delivery.md). Idempotent: every
 * write carries a fixed Idempotency-Key, so a restarted stack finds what an earlier start made. Its calls come from an address of their
 * own (TEST-NET-1): the gateway limits sign-ins per client address, and the developer's (or a
 * test's) budget on 127.0.0.1 stays whole.
 */
const stackAddress = { "cf-connecting-ip": "192.0.2.254" };
export const PROBE_SKU = "EDGEBANK-PROBE";

export async function prepareProbeUser(
  gateway: string,
  probe: { email: string; password: string },
  operator: { email: string; password: string },
  shop: { email: string; password: string },
): Promise<{ accounts: string[]; sku: string }> {
  const token = async (user: { email: string; password: string }) => {
    const response = await fetch(`${gateway}/v1/auth/token`, {
      method: "POST",
      headers: stackAddress,
      body: new URLSearchParams({
        grant_type: "password",
        username: user.email,
        password: user.password,
        client_id: "edgebank-app",
      }),
    });
    if (!response.ok) throw new Error(`sign-in of ${user.email}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { access_token: string }).access_token;
  };
  const call = async (path: string, bearer: string, init: { body?: unknown; key?: string } = {}) => {
    const response = await fetch(`${gateway}${path}`, {
      method: init.body === undefined ? "GET" : "POST",
      headers: {
        ...stackAddress,
        authorization: `Bearer ${bearer}`,
        "content-type": "application/json",
        ...(init.key ? { "idempotency-key": init.key } : {}),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const probeToken = await token(probe);
  const accounts: string[] = [];
  for (const n of [1, 2]) {
    const account = await call("/v1/accounts", probeToken, { body: { currency: "EUR" }, key: `probe-account-${n}` });
    accounts.push(String(account.id));
  }
  const [first] = accounts;
  const balance = await call(`/v1/accounts/${first}/balance`, probeToken);
  if (BigInt(String(balance.available ?? "0")) < 100n) {
    await call("/v1/transfers/deposits", await token(operator), {
      body: { accountId: first, amount: "100", currency: "EUR", description: "rollout probes' float" },
      key: `probe-float-${first}`,
    });
  }
  // The catalogue is public: a 404 is a product nobody has listed yet.
  const listed = await fetch(`${gateway}/v1/products/${PROBE_SKU}`, { headers: stackAddress });
  if (!listed.ok && listed.status !== 404) throw new Error(`/v1/products/${PROBE_SKU}: ${listed.status}`);
  await listed.body?.cancel();
  if (listed.status === 404) {
    // The probe shop: a merchant account (registered once; a second registration is refused).
    await fetch(`${gateway}/v1/auth/register`, {
      method: "POST",
      headers: { ...stackAddress, "content-type": "application/json" },
      body: JSON.stringify({ email: shop.email, password: shop.password, accountType: "merchant" }),
    });
    const shopToken = await token(shop);
    const till = await call("/v1/accounts", shopToken, { body: { currency: "EUR" }, key: "probe-shop-account" });
    const merchant = await call("/v1/merchants", shopToken, {
      body: { name: "edgebank rollout probes", accountId: till.id },
      key: "probe-shop-merchant",
    });
    await call("/v1/products", shopToken, {
      body: { sku: PROBE_SKU, name: "Rollout probe (never in stock)", price: "1", merchantId: merchant.id, stock: 0 },
      key: "probe-shop-product",
    });
  }
  return { accounts, sku: PROBE_SKU };
}
