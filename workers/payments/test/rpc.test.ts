import { env } from "cloudflare:workers";
import type { PaymentsService } from "@edgebank/contracts";
import { withDatabase } from "@edgebank/db";
import { newId } from "@edgebank/ids";
import { describe, expect, it } from "vitest";
import { merchants } from "../src/db/schema.ts";

/**
 * PaymentsRpc, the payments service's internal contract, as its callers bind it (test-only
 * bindings to the worker's own entrypoint, each naming a caller in its props).
 */
const asInventory = env.RPC_AS_INVENTORY as unknown as PaymentsService;
const asOrders = env.RPC_AS_ORDERS as unknown as PaymentsService;
const withoutCaller = env.RPC_WITHOUT_CALLER as unknown as PaymentsService;

/** A user with two merchants of their own, in two currencies. */
async function ownerWithMerchants() {
  const ownerId = `usr_test_${crypto.randomUUID().slice(0, 8)}`;
  const rows = [
    { id: newId("merchant"), ownerId, name: "Mugs", accountId: newId("account"), currency: "EUR" },
    { id: newId("merchant"), ownerId, name: "Cups", accountId: newId("account"), currency: "GBP" },
  ];
  await withDatabase(
    { driver: "hyperdrive", connectionString: env.PAYMENTS_DB.connectionString, prepare: env.DB_PREPARE === "true" },
    async (db) => {
      await db.insert(merchants).values(rows);
    },
  );
  return { ownerId, ids: rows.map((row) => row.id) };
}

describe("PaymentsRpc (internal contract)", () => {
  it("tells inventory the merchants a user runs, newest first, and nobody else's", async () => {
    const { ownerId, ids } = await ownerWithMerchants();
    const result = await asInventory.merchantsOf({ ownerId });
    expect(result).toEqual({
      status: "found",
      merchants: [
        { id: ids[1], name: "Cups", currency: "GBP" },
        { id: ids[0], name: "Mugs", currency: "EUR" },
      ],
    });
    expect(await asInventory.merchantsOf({ ownerId: `usr_test_${crypto.randomUUID().slice(0, 8)}` })).toEqual({
      status: "found",
      merchants: [],
    });
  });

  it("refuses a caller outside the method's allow-list and a binding that names no caller", async () => {
    const { ownerId } = await ownerWithMerchants();
    expect(await asOrders.merchantsOf({ ownerId })).toMatchObject({
      status: "forbidden",
      reason: "caller_not_allowed",
      detail: "Caller orders may not call payments.merchantsOf.",
    });
    expect(await withoutCaller.merchantsOf({ ownerId })).toMatchObject({
      status: "forbidden",
      reason: "caller_not_allowed",
    });
  });

  it("answers invalid input as a refusal that names the field", async () => {
    expect(await asInventory.merchantsOf({ ownerId: "" })).toMatchObject({
      status: "invalid",
      reason: "invalid_input",
      detail: "Invalid input to payments.merchantsOf: ownerId.",
    });
  });
});
