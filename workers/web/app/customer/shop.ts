/** The catalogue, ordering, and the customer's orders as they move (confirmed, cancelled). */
import { type EdgebankClient, unwrap } from "@edgebank/client";
import { accountSelect, announce, describe, field, formatMoney, h, table, when } from "../shared/dom.ts";
import { Intent } from "../shared/intent.ts";

export async function shopView(api: EdgebankClient, redraw: (notice?: string) => void, notice = "") {
  const [{ items: products }, { items: accounts }, { items: orders }] = await Promise.all([
    unwrap(api.GET("/v1/products", { params: { query: { limit: 50 } } })),
    unwrap(api.GET("/v1/accounts")),
    unwrap(api.GET("/v1/orders")),
  ]);
  const product = h("select", { id: "product", required: "" });
  for (const item of products)
    product.append(
      h("option", { value: item.sku }, `${item.name} (${item.sku}), ${formatMoney(item.price, item.currency)}`),
    );
  const quantity = h("input", { id: "quantity", type: "number", min: "1", max: "1000", value: "1", required: "" });
  const from = accountSelect("order-from", accounts);
  const outcome = h("p", { id: "order-outcome", role: "status" }, notice);
  const form = h(
    "form",
    { "aria-labelledby": "order-title" },
    h("h2", { id: "order-title" }, "Order"),
    ...field("Product", product),
    ...field("Quantity", quantity),
    ...field("Pay from", from),
    h("p", {}, h("button", { type: "submit", id: "order" }, "Order")),
    outcome,
  );
  const intent = new Intent();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const order = await unwrap(
        api.POST("/v1/orders", {
          params: { header: { "Idempotency-Key": intent.key } },
          body: { payerAccountId: from.value, lines: [{ sku: product.value, quantity: Number(quantity.value) }] },
        }),
      );
      intent.settled();
      redraw(`Order ${order.id}: ${order.status.toLowerCase()}; its status follows below.`);
    } catch (error) {
      intent.settled(error);
      announce(outcome, `Refused: ${describe(error)}`, true);
    }
  });

  const cancel = (id: string) => {
    const button = h("button", { type: "button", "aria-label": `Cancel order ${id}` }, "Cancel");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await unwrap(api.POST("/v1/orders/{id}/cancel", { params: { path: { id } } }));
        redraw(`Order ${id}: cancelling.`);
      } catch (error) {
        announce(outcome, describe(error), true);
        button.disabled = false;
      }
    });
    return button;
  };
  return [
    h("h1", {}, "Shop"),
    h(
      "section",
      { "aria-labelledby": "catalogue-title" },
      h("h2", { id: "catalogue-title" }, "Products"),
      products.length === 0
        ? h("p", {}, "Nothing on sale yet.")
        : table(
            ["Product", "SKU", "Price", "Available"],
            products.map((item) => [
              item.name,
              h("code", {}, item.sku),
              formatMoney(item.price, item.currency),
              String(item.available),
            ]),
            [2, 3],
          ),
    ),
    h("section", {}, form),
    h(
      "section",
      { "aria-labelledby": "orders-title" },
      h("h2", { id: "orders-title" }, "Your orders"),
      orders.length === 0
        ? h("p", {}, "No order yet.")
        : table(
            ["Date", "Order", "Total", "Status", ""],
            orders.map((order) => [
              when(order.createdAt),
              h("code", {}, order.id),
              formatMoney(order.total, order.currency),
              `${order.status.toLowerCase().replace("_", " ")}${order.reason ? ` (${order.reason})` : ""}`,
              order.status === "PENDING" || order.status === "PAYMENT_AUTHORIZED" ? cancel(order.id) : "",
            ]),
            [2],
          ),
    ),
  ];
}
