import { env, exports } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import { newId } from "@edgebank/ids";
import { describe, expect, it } from "vitest";

/** The catalogue through the inventory worker; payments is a stand-in owning TEST_MERCHANT_ID. */
const call = (path: string, init: RequestInit & { token?: string } = {}) => {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  if (init.body) headers.set("content-type", "application/json");
  return exports.default.fetch(new Request(`http://inventory.internal${path}`, { ...init, headers }));
};
const merchant = () => testCaller(env, "merchant:read merchant:write");
const newSku = () => `SKU-${crypto.randomUUID().slice(0, 8).toUpperCase()}`;

describe("products", () => {
  it("a merchant lists a product for its merchant, in its currency; anyone reads the catalogue", async () => {
    const seller = await merchant();
    const sku = newSku();
    const created = await call("/v1/products", {
      method: "POST",
      token: seller.token,
      body: JSON.stringify({ sku, name: "Blue mug", price: "1250", merchantId: env.TEST_MERCHANT_ID, stock: 3 }),
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({
      sku,
      name: "Blue mug",
      price: "1250",
      currency: "EUR",
      merchantId: env.TEST_MERCHANT_ID,
      available: 3,
    });
    expect(await (await call(`/v1/products/${sku}`)).json()).toMatchObject({ sku, available: 3 });
    const page = (await (await call(`/v1/products?merchantId=${env.TEST_MERCHANT_ID}&limit=100`)).json()) as {
      items: Array<{ sku: string }>;
    };
    expect(page.items.map((p) => p.sku)).toContain(sku);

    // The same SKU again is taken; a merchant that is not the caller's does not exist.
    const again = await call("/v1/products", {
      method: "POST",
      token: seller.token,
      body: JSON.stringify({ sku, name: "Other", price: "1", merchantId: env.TEST_MERCHANT_ID }),
    });
    expect(again.status).toBe(409);
    const foreign = await call("/v1/products", {
      method: "POST",
      token: seller.token,
      body: JSON.stringify({ sku: newSku(), name: "Fake", price: "1", merchantId: newId("merchant") }),
    });
    expect(foreign.status).toBe(404);
  });

  it("only its owner restocks a product, and the restock shows in what can be ordered", async () => {
    const seller = await merchant();
    const sku = newSku();
    await call("/v1/products", {
      method: "POST",
      token: seller.token,
      body: JSON.stringify({ sku, name: "Green mug", price: "990", merchantId: env.TEST_MERCHANT_ID }),
    });
    const other = await merchant();
    const denied = await call(`/v1/products/${sku}/restock`, {
      method: "POST",
      token: other.token,
      body: JSON.stringify({ quantity: 5 }),
    });
    expect(denied.status).toBe(404);
    const restocked = await call(`/v1/products/${sku}/restock`, {
      method: "POST",
      token: seller.token,
      body: JSON.stringify({ quantity: 5 }),
    });
    expect(await restocked.json()).toMatchObject({ sku, available: 5 });
  });

  it("refuses bad input with problems and customers without the merchant scope", async () => {
    const seller = await merchant();
    for (const body of [
      { sku: "lower-case", name: "x", price: "1", merchantId: env.TEST_MERCHANT_ID },
      { sku: newSku(), name: "x", price: "0", merchantId: env.TEST_MERCHANT_ID },
      { sku: newSku(), name: "x", price: "1", merchantId: env.TEST_MERCHANT_ID, stock: -1 },
    ]) {
      const response = await call("/v1/products", { method: "POST", token: seller.token, body: JSON.stringify(body) });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
    }
    const customer = await testCaller(env, "orders:read orders:write");
    const refused = await call("/v1/products", {
      method: "POST",
      token: customer.token,
      body: JSON.stringify({ sku: newSku(), name: "x", price: "1", merchantId: env.TEST_MERCHANT_ID }),
    });
    expect(refused.status).toBe(403);
    expect((await call("/v1/products/SKU-NONE")).status).toBe(404);
  });
});
