/** Paying a merchant, and the customer's payments. */
import { type EdgebankClient, unwrap } from "@edgebank/client";
import { accountSelect, announce, describe, field, formatMoney, h, minorUnits, table, when } from "../shared/dom.ts";
import { Intent } from "../shared/intent.ts";

export async function payView(api: EdgebankClient, redraw: (notice?: string) => void, notice = "") {
  const [{ items: accounts }, { items: payments }] = await Promise.all([
    unwrap(api.GET("/v1/accounts")),
    unwrap(api.GET("/v1/payments")),
  ]);
  const merchant = h("input", { id: "merchant", required: "", autocomplete: "off", placeholder: "mer_…" });
  const from = accountSelect("pay-from", accounts);
  const amount = h("input", { id: "pay-amount", required: "", inputmode: "decimal", placeholder: "12.50" });
  const reference = h("input", { id: "reference", required: "", maxlength: "140" });
  const outcome = h("p", { id: "payment-outcome", role: "status" }, notice);
  const form = h(
    "form",
    { "aria-labelledby": "pay-title" },
    h("h2", { id: "pay-title" }, "Pay a merchant"),
    ...field("Merchant", merchant),
    ...field("From", from),
    ...field("Amount (EUR)", amount),
    ...field("Reference", reference),
    h("p", {}, h("button", { type: "submit", id: "pay" }, "Pay")),
    outcome,
  );
  const intent = new Intent();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const units = minorUnits(amount.value);
    if (!units) return announce(outcome, "Enter an amount such as 12.50.", true);
    try {
      // The merchant's public face first: the payer sees whom they pay before the money moves.
      const payee = await unwrap(api.GET("/v1/merchants/{id}", { params: { path: { id: merchant.value.trim() } } }));
      const payment = await unwrap(
        api.POST("/v1/payments", {
          params: { header: { "Idempotency-Key": intent.key } },
          body: {
            fromAccountId: from.value,
            merchantId: payee.id,
            amount: units,
            currency: "EUR",
            reference: reference.value,
          },
        }),
      );
      intent.settled();
      const reason = payment.failureReason ? ` (${payment.failureReason})` : "";
      redraw(`Payment ${payment.id} to ${payee.name}: ${payment.status.toLowerCase()}${reason}.`);
    } catch (error) {
      intent.settled(error);
      announce(outcome, `Refused: ${describe(error)}`, true);
    }
  });
  return [
    h("h1", {}, "Pay"),
    h("section", {}, form),
    h(
      "section",
      { "aria-labelledby": "payments-title" },
      h("h2", { id: "payments-title" }, "Your payments"),
      payments.length === 0
        ? h("p", {}, "No payment yet.")
        : table(
            ["Date", "Merchant", "Reference", "Amount", "Status"],
            payments.map((payment) => [
              when(payment.createdAt),
              h("code", {}, payment.merchantId),
              payment.reference,
              formatMoney(payment.amount, payment.currency),
              payment.status.toLowerCase(),
            ]),
            [3],
          ),
    ),
  ];
}
