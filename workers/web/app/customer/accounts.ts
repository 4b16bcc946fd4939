/** Accounts and balances, opening an account, a transfer, and an account's statement. */
import { type EdgebankClient, idempotencyKey, type Schemas, unwrap } from "@edgebank/client";
import { accountSelect, announce, describe, field, formatMoney, h, minorUnits, table, when } from "../shared/dom.ts";
import { Intent } from "../shared/intent.ts";

type Account = Schemas["Account"];

export async function accountsView(api: EdgebankClient, redraw: (notice?: string) => void, notice = "") {
  const { items } = await unwrap(api.GET("/v1/accounts"));
  const balances = await Promise.all(
    items.map((account) => unwrap(api.GET("/v1/accounts/{id}/balance", { params: { path: { id: account.id } } }))),
  );
  const status = h("p", { role: "status" });
  const open = h("button", { type: "button" }, "Open a EUR account");
  open.addEventListener("click", async () => {
    open.disabled = true;
    try {
      await unwrap(
        api.POST("/v1/accounts", {
          params: { header: { "Idempotency-Key": idempotencyKey() } },
          body: { currency: "EUR" },
        }),
      );
      redraw();
    } catch (error) {
      announce(status, describe(error), true);
      open.disabled = false;
    }
  });
  const accounts = h(
    "section",
    { "aria-labelledby": "accounts-title" },
    h("h2", { id: "accounts-title" }, "Your accounts"),
    items.length === 0
      ? h("p", {}, "You have no account yet.")
      : table(
          ["Name", "Account", "Available", ""],
          items.map((account, index) => [
            account.name ?? "Account",
            h("code", {}, account.id),
            balances[index]?.formatted.available ?? "?",
            h("a", { href: `#/accounts/${account.id}`, "aria-label": `Statement of ${account.id}` }, "Statement"),
          ]),
          [2],
        ),
    h("p", {}, open),
    status,
  );
  return [h("h1", {}, "Accounts"), accounts, transferForm(api, items, redraw, notice)];
}

/**
 * The transfer form. `notice` is the outcome of the transfer just sent: the page is drawn again
 * with the new balances, and the outcome stays on it.
 */
function transferForm(
  api: EdgebankClient,
  accounts: Account[],
  redraw: (notice?: string) => void,
  notice: string,
): HTMLElement {
  const from = accountSelect("from", accounts);
  const to = h("input", { id: "to", name: "to", required: "", autocomplete: "off" });
  const amount = h("input", { id: "amount", name: "amount", required: "", inputmode: "decimal", placeholder: "12.50" });
  const description = h("input", { id: "description", name: "description", required: "", maxlength: "140" });
  const outcome = h("p", { id: "transfer-outcome", role: "status" }, notice);
  const form = h(
    "form",
    { "aria-labelledby": "transfer-title" },
    h("h2", { id: "transfer-title" }, "Send money"),
    ...field("From", from),
    ...field("To account", to),
    ...field("Amount (EUR)", amount),
    ...field("Description", description),
    h("p", {}, h("button", { type: "submit", id: "send" }, "Send")),
    outcome,
  );
  const intent = new Intent();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const units = minorUnits(amount.value);
    if (!units) return announce(outcome, "Enter an amount such as 12.50.", true);
    try {
      const transfer = await unwrap(
        api.POST("/v1/transfers", {
          params: { header: { "Idempotency-Key": intent.key } },
          body: {
            fromAccountId: from.value,
            toAccountId: to.value.trim(),
            amount: units,
            currency: "EUR",
            description: description.value,
          },
        }),
      );
      intent.settled();
      redraw(`Transfer ${transfer.id}: ${transfer.status.toLowerCase()}.`);
    } catch (error) {
      intent.settled(error);
      announce(outcome, `Refused: ${describe(error)}`, true);
    }
  });
  return h("section", {}, form);
}

const kinds: Record<string, string> = {
  credit: "Money in",
  debit: "Money out",
  hold: "Reserved",
  capture: "Reserved, taken",
  release: "Reserved, released",
  set_status: "Status changed",
  set_credit_limit: "Credit limit changed",
};

/** One account's statement: its balances, then its operations newest first, a page at a time. */
export async function statementView(api: EdgebankClient, accountId: string) {
  const path = { id: accountId };
  const [account, balance] = await Promise.all([
    unwrap(api.GET("/v1/accounts/{id}", { params: { path } })),
    unwrap(api.GET("/v1/accounts/{id}/balance", { params: { path } })),
  ]);
  const currency = account.currency;
  const rows = h("tbody");
  const more = h("button", { type: "button" }, "Older operations");
  const load = async (cursor?: string) => {
    const page = await unwrap(
      api.GET("/v1/accounts/{id}/operations", {
        params: { path, query: { limit: 20, ...(cursor ? { cursor } : {}) } },
      }),
    );
    page.items.forEach((line, index) => {
      // What the operation did to the posted balance: against the line before it (the next one on
      // this page; none at all for an account's first), else as its kind says.
      const before = page.items[index + 1]?.posted ?? (page.nextCursor ? undefined : "0");
      const change =
        before !== undefined
          ? (BigInt(line.posted) - BigInt(before)).toString()
          : line.kind === "credit"
            ? line.amount
            : (line.kind === "debit" || line.kind === "capture") && line.amount
              ? `-${line.amount}`
              : "0";
      const held = line.kind === "hold" && line.amount ? `${formatMoney(line.amount, currency)} reserved` : "";
      rows.append(
        h(
          "tr",
          {},
          h("td", {}, when(line.createdAt)),
          h("td", {}, kinds[line.kind] ?? line.kind),
          h("td", {}, h("code", {}, line.operationId)),
          h("td", { class: "amount" }, change && change !== "0" ? formatMoney(change, currency) : held),
          h("td", { class: "amount" }, formatMoney(line.posted, currency)),
        ),
      );
    });
    more.hidden = !page.nextCursor;
    more.onclick = () => void load(page.nextCursor);
  };
  await load();
  return [
    h("h1", {}, `Statement of ${account.name ?? "account"} `, h("code", {}, account.id)),
    h(
      "section",
      { "aria-labelledby": "balance-title" },
      h("h2", { id: "balance-title" }, "Balance"),
      h(
        "dl",
        {},
        h("dt", {}, "Available"),
        h("dd", { id: "available" }, balance.formatted.available),
        h("dt", {}, "Posted"),
        h("dd", {}, balance.formatted.posted),
        h("dt", {}, "Reserved"),
        h("dd", {}, formatMoney(balance.pending, currency)),
      ),
    ),
    h(
      "section",
      { "aria-labelledby": "operations-title" },
      h("h2", { id: "operations-title" }, "Operations"),
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["Date", "What", "Operation", "Amount", "Balance after"].map((text) => h("th", { scope: "col" }, text)),
          ),
        ),
        rows,
      ),
      h("p", {}, more),
    ),
    h("p", {}, h("a", { href: "#/" }, "Back to accounts")),
  ];
}
