import { env, exports } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import { resultRows, withDatabase } from "@edgebank/db";
import { newId } from "@edgebank/ids";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";

/**
 * Orders through the orders worker against its real database; the catalogue is a stand-in
 * (SKU `TEST-<price>-<merchant>`, EUR). Payment and stock arrive by events (not here).
 */
const call = (path: string, token: string, init: RequestInit & { key?: string } = {}) => {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  if (init.body) headers.set("content-type", "application/json");
  if (init.key) headers.set("idempotency-key", init.key);
  return exports.default.fetch(new Request(`http://orders.internal${path}`, { ...init, headers }));
};
const buyer = () => testCaller(env, "orders:read orders:write");
const place = (token: string, body: unknown, key: string = crypto.randomUUID()) =>
  call("/v1/orders", token, { method: "POST", key, body: JSON.stringify(body) });

async function eventsOf(orderId: string) {
  return withDatabase(
    { driver: "hyperdrive", connectionString: env.ORDERS_DB.connectionString, prepare: env.DB_PREPARE === "true" },
    async (db) =>
      resultRows<{ type: string; payload: { total: string; status: string; reason?: string } }>(
        await db.execute(sql`select type, payload from orders.outbox where aggregate_id = ${orderId} order by id`),
      ),
  );
}

describe("orders", () => {
  it("are priced from the catalogue, placed once per Idempotency-Key, with OrderCreated in the outbox", async () => {
    const { token } = await buyer();
    const body = {
      payerAccountId: newId("account"),
      lines: [
        { sku: "TEST-1250-1", quantity: 2 },
        { sku: "TEST-300-1", quantity: 1 },
        { sku: "TEST-1250-1", quantity: 1 },
      ],
    };
    const placed = await place(token, body, "order-1");
    expect(placed.status).toBe(202);
    const order = (await placed.json()) as { id: string; status: string; total: string; lines: unknown[] };
    expect(order).toMatchObject({ status: "PENDING", total: "4050", currency: "EUR" });
    expect(order.lines).toEqual([
      { sku: "TEST-1250-1", quantity: 3, unitPrice: "1250" },
      { sku: "TEST-300-1", quantity: 1, unitPrice: "300" },
    ]);
    const again = await place(token, body, "order-1");
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as { id: string }).id).toBe(order.id);
    expect((await place(token, { ...body, lines: [{ sku: "TEST-1-1", quantity: 1 }] }, "order-1")).status).toBe(422);
    expect((await eventsOf(order.id)).map((e) => [e.type, e.payload.total])).toEqual([["OrderCreated", "4050"]]);
  });

  it("refuses unknown products, several merchants, and bad input; nothing is placed", async () => {
    const { token } = await buyer();
    const payerAccountId = newId("account");
    const unknown = await place(token, { payerAccountId, lines: [{ sku: "NOPE", quantity: 1 }] });
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toMatchObject({ reason: "unknown_product" });
    const mixed = await place(token, {
      payerAccountId,
      lines: [
        { sku: "TEST-100-1", quantity: 1 },
        { sku: "TEST-100-2", quantity: 1 },
      ],
    });
    expect(await mixed.json()).toMatchObject({ reason: "several_merchants" });
    for (const body of [
      { payerAccountId, lines: [] },
      { payerAccountId, lines: [{ sku: "TEST-100-1", quantity: 0 }] },
      { payerAccountId: "acc_nope", lines: [{ sku: "TEST-100-1", quantity: 1 }] },
    ]) {
      expect((await place(token, body)).status, JSON.stringify(body)).toBe(400);
    }
    const mine = (await (await call("/v1/orders", token)).json()) as { items: unknown[] };
    expect(mine.items).toEqual([]);
  });

  it("a buyer cancels before confirmation, once; a stranger sees nothing", async () => {
    const { token } = await buyer();
    const placed = (await (
      await place(token, { payerAccountId: newId("account"), lines: [{ sku: "TEST-500-1", quantity: 1 }] })
    ).json()) as { id: string };
    const stranger = await buyer();
    expect((await call(`/v1/orders/${placed.id}`, stranger.token)).status).toBe(404);
    expect((await call(`/v1/orders/${placed.id}/cancel`, stranger.token, { method: "POST" })).status).toBe(404);
    const cancelled = await call(`/v1/orders/${placed.id}/cancel`, token, { method: "POST" });
    expect(await cancelled.json()).toMatchObject({ status: "CANCELLED", reason: "cancelled_by_customer" });
    expect((await call(`/v1/orders/${placed.id}/cancel`, token, { method: "POST" })).status).toBe(200);
    expect((await eventsOf(placed.id)).map((e) => e.type)).toEqual(["OrderCreated", "OrderCancelled"]);
    const listed = (await (await call("/v1/orders", token)).json()) as { items: Array<{ id: string; status: string }> };
    expect(listed.items).toEqual([expect.objectContaining({ id: placed.id, status: "CANCELLED" })]);
  });
});
