import { env, exports } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import type { InventoryService } from "@edgebank/contracts";
import { describe, expect, it } from "vitest";

/**
 * InventoryRpc, the inventory service's internal contract, as its callers bind it (test-only
 * bindings to the worker's own entrypoint, each naming a caller in its props).
 */
const asOrders = env.RPC_AS_ORDERS as unknown as InventoryService;
const asPayments = env.RPC_AS_PAYMENTS as unknown as InventoryService;
const withoutCaller = env.RPC_WITHOUT_CALLER as unknown as InventoryService;

const newSku = () => `SKU-${crypto.randomUUID().slice(0, 8).toUpperCase()}`;

/** A product listed through the public route by a merchant (payments' stand-in owns TEST_MERCHANT_ID). */
async function listed(price: string, stock: number): Promise<string> {
  const seller = await testCaller(env, "merchant:read merchant:write");
  const sku = newSku();
  const response = await exports.default.fetch(
    new Request("http://inventory.internal/v1/products", {
      method: "POST",
      headers: { authorization: `Bearer ${seller.token}`, "content-type": "application/json" },
      body: JSON.stringify({ sku, name: "Green mug", price, merchantId: env.TEST_MERCHANT_ID, stock }),
    }),
  );
  expect(response.status).toBe(201);
  return sku;
}

describe("InventoryRpc (internal contract)", () => {
  it("tells orders a product's price, currency, merchant and what can be ordered", async () => {
    const sku = await listed("990", 4);
    expect(await asOrders.product({ sku })).toEqual({
      status: "found",
      product: {
        sku,
        name: "Green mug",
        price: "990",
        currency: "EUR",
        merchantId: env.TEST_MERCHANT_ID,
        available: 4,
      },
    });
    expect(await asOrders.product({ sku: newSku() })).toEqual({ status: "not_found" });
  });

  it("refuses a caller outside the method's allow-list and a binding that names no caller", async () => {
    const sku = await listed("100", 1);
    expect(await asPayments.product({ sku })).toMatchObject({
      status: "forbidden",
      reason: "caller_not_allowed",
      detail: "Caller payments may not call inventory.product.",
    });
    expect(await withoutCaller.product({ sku })).toMatchObject({ status: "forbidden", reason: "caller_not_allowed" });
  });

  it("answers a malformed SKU as a refusal that names the field", async () => {
    expect(await asOrders.product({ sku: "not a sku" })).toMatchObject({
      status: "invalid",
      reason: "invalid_input",
      detail: "Invalid input to inventory.product: sku.",
    });
  });
});
