/**
 * What an operator acts on: sagas that need attention (retry, compensate), dead letters
 * (redrive), the services' consumers (lag, stop, start), accounts (find, freeze, unfreeze, credit
 * limit) and rollouts (pause, resume, promote, abort). Every action goes through the public API,
 * which records who did it, after a confirmation that shows the figures.
 */
import { type EdgebankClient, idempotencyKey, type Schemas, unwrap } from "@edgebank/client";
import { announce, describe, field, formatMoney, h, minorUnits, table, when } from "../shared/dom.ts";
import { confirmAction } from "./confirm.ts";

type Redraw = (notice?: string) => void;

/** A button that confirms, acts, then redraws with the outcome (or shows the refusal). */
function actionButton(
  label: string,
  accessibleName: string,
  confirm: () => Promise<boolean>,
  act: () => Promise<string>,
  status: HTMLElement,
  redraw: Redraw,
): HTMLButtonElement {
  const button = h("button", { type: "button", "aria-label": accessibleName }, label);
  button.addEventListener("click", async () => {
    if (!(await confirm())) return;
    button.disabled = true;
    try {
      redraw(await act());
    } catch (error) {
      announce(status, `Refused: ${describe(error)}`, true);
      button.disabled = false;
    }
  });
  return button;
}

/**
 * The actions on a flow that waits for an operator: retry it, or compensate it (the service
 * refuses where undoing would lose money, and says why). `call` runs the verb on the flow.
 */
function flowActions(
  noun: "transfer" | "payment",
  id: string,
  facts: Array<[string, string]>,
  call: (verb: "retry" | "compensate") => Promise<{ id: string; status: string }>,
  status: HTMLElement,
  redraw: Redraw,
): HTMLElement {
  const Noun = noun === "transfer" ? "Transfer" : "Payment";
  const act = (verb: "retry" | "compensate", done: string) => async () => {
    const after = await call(verb);
    return `${Noun} ${after.id} ${done}: ${after.status.toLowerCase()}.`;
  };
  return h(
    "span",
    { class: "actions" },
    actionButton(
      "Retry",
      `Retry ${noun} ${id}`,
      () => confirmAction(`Retry this ${noun}?`, facts, noun === "transfer" ? "Retry the saga" : "Retry the payment"),
      act("retry", "retried"),
      status,
      redraw,
    ),
    actionButton(
      "Compensate",
      `Compensate ${noun} ${id}`,
      () =>
        confirmAction(
          `Undo this ${noun}?`,
          facts,
          noun === "transfer" ? "Compensate and fail it" : "Compensate and end it",
        ),
      act("compensate", "compensated"),
      status,
      redraw,
    ),
  );
}

export async function attentionView(api: EdgebankClient, redraw: Redraw, notice = "") {
  const [{ items }, { items: stuckPayments }, { items: stuckRefunds }] = await Promise.all([
    unwrap(api.GET("/v1/transfers", { params: { query: { status: "NEEDS_ATTENTION", limit: 50 } } })),
    unwrap(api.GET("/v1/payments", { params: { query: { status: "NEEDS_ATTENTION", limit: 50 } } })),
    unwrap(api.GET("/v1/refunds", { params: { query: { status: "NEEDS_ATTENTION", limit: 50 } } })),
  ]);
  const status = h("p", { id: "attention-outcome", role: "status" }, notice);
  const facts = (transfer: Schemas["Transfer"]): Array<[string, string]> => [
    ["Transfer", transfer.id],
    ["Amount", formatMoney(transfer.amount, transfer.currency)],
    ["From", transfer.fromAccountId],
    ["To", transfer.toAccountId],
    ["Why it stopped", transfer.failureReason ?? "unknown"],
  ];
  const rows = items.map((transfer) => [
    h("code", {}, transfer.id),
    formatMoney(transfer.amount, transfer.currency),
    h("code", {}, transfer.fromAccountId),
    h("code", {}, transfer.toAccountId),
    transfer.failureReason ?? "",
    when(transfer.createdAt),
    flowActions(
      "transfer",
      transfer.id,
      facts(transfer),
      (verb) => unwrap(api.POST(`/v1/transfers/{id}/${verb}`, { params: { path: { id: transfer.id } } })),
      status,
      redraw,
    ),
  ]);
  const paymentFacts = (payment: Schemas["Payment"]): Array<[string, string]> => [
    ["Payment", payment.id],
    ["Amount", formatMoney(payment.amount, payment.currency)],
    ["From", payment.payerAccountId],
    ["Merchant", payment.merchantId],
    ["Why it stopped", payment.failureReason ?? "unknown"],
  ];
  const paymentRows = stuckPayments.map((payment) => [
    h("code", {}, payment.id),
    formatMoney(payment.amount, payment.currency),
    h("code", {}, payment.payerAccountId),
    h("code", {}, payment.merchantId),
    payment.failureReason ?? "",
    when(payment.createdAt),
    flowActions(
      "payment",
      payment.id,
      paymentFacts(payment),
      (verb) => unwrap(api.POST(`/v1/payments/{id}/${verb}`, { params: { path: { id: payment.id } } })),
      status,
      redraw,
    ),
  ]);
  const refundRows = stuckRefunds.map((refund) => [
    h("code", {}, refund.id),
    h("code", {}, refund.paymentId),
    refund.amount,
    refund.failureReason ?? "",
    when(refund.createdAt),
    actionButton(
      "Retry",
      `Retry refund ${refund.id}`,
      () =>
        confirmAction(
          "Retry this refund?",
          [
            ["Refund", refund.id],
            ["Of payment", refund.paymentId],
            ["Amount (minor units)", refund.amount],
            ["Why it stopped", refund.failureReason ?? "unknown"],
          ],
          "Retry the refund",
        ),
      async () => {
        const after = await unwrap(api.POST("/v1/refunds/{id}/retry", { params: { path: { id: refund.id } } }));
        return `Refund ${after.id} retried: ${after.status.toLowerCase()}.`;
      },
      status,
      redraw,
    ),
  ]);
  return [
    h("h1", {}, "Needs attention"),
    status,
    h(
      "section",
      { "aria-labelledby": "stuck-title" },
      h("h2", { id: "stuck-title" }, "Transfers"),
      items.length === 0
        ? h("p", {}, "No transfer waits for an operator.")
        : table(["Transfer", "Amount", "From", "To", "Why", "Since", ""], rows, [1]),
    ),
    h(
      "section",
      { "aria-labelledby": "stuck-payments-title" },
      h("h2", { id: "stuck-payments-title" }, "Payments"),
      stuckPayments.length === 0
        ? h("p", {}, "No payment waits for an operator.")
        : table(["Payment", "Amount", "From", "Merchant", "Why", "Since", ""], paymentRows, [1]),
    ),
    h(
      "section",
      { "aria-labelledby": "stuck-refunds-title" },
      h("h2", { id: "stuck-refunds-title" }, "Refunds"),
      stuckRefunds.length === 0
        ? h("p", {}, "No refund waits for an operator.")
        : table(["Refund", "Of payment", "Amount (minor units)", "Why", "Since", ""], refundRows, [2]),
    ),
  ];
}

const consumerServices = ["payments", "inventory", "orders"] as const;

export async function eventsView(api: EdgebankClient, redraw: Redraw, notice = "") {
  const [{ items: letters }, notificationConsumers, ...serviceConsumers] = await Promise.all([
    unwrap(api.GET("/v1/notifications/dead-letters")),
    unwrap(api.GET("/v1/notifications/consumers")),
    ...consumerServices.map((service) =>
      unwrap(api.GET(`/v1/operations/${service}/consumers` as "/v1/operations/payments/consumers")),
    ),
  ]);
  const status = h("p", { id: "events-outcome", role: "status" }, notice);
  const letterRows = letters.map((letter) => [
    h("code", {}, letter.id),
    letter.type ?? "(unreadable)",
    `${letter.topic} #${letter.partition}@${letter.offset}`,
    letter.error,
    String(letter.attempts),
    when(letter.deadAt),
    actionButton(
      "Redrive",
      `Redrive dead letter ${letter.id}`,
      () =>
        confirmAction(
          "Apply this event again?",
          [
            ["Dead letter", letter.id],
            ["Event", `${letter.type ?? "?"} ${letter.eventId ?? ""}`],
            ["Consumer", letter.consumer],
            ["Last error", letter.error],
            ["Attempts", String(letter.attempts)],
          ],
          "Redrive once",
        ),
      async () => {
        const result = await unwrap(
          api.POST("/v1/notifications/dead-letters/{id}/redrive", { params: { path: { id: letter.id } } }),
        );
        return `Dead letter ${result.id}: ${result.outcome.replace("_", " ")}.`;
      },
      status,
      redraw,
    ),
  ]);
  type Status = {
    name?: string | null;
    running?: boolean;
    lag?: { records: number; at: string } | null;
    consecutiveFailures?: number;
  };
  const consumerRows = [
    ...(notificationConsumers.items as Status[]).map((consumer) => ["notifications", consumer] as const),
    ...serviceConsumers.flatMap((answer, index) =>
      (answer.items as Status[]).map((consumer) => [consumerServices[index] ?? "", consumer] as const),
    ),
  ].map(([service, consumer]) => [
    service,
    consumer.name ?? "",
    consumer.running ? "running" : "stopped",
    consumer.lag ? `${consumer.lag.records} records (${when(consumer.lag.at)})` : "not measured yet",
    String(consumer.consecutiveFailures ?? 0),
  ]);
  const holds = consumerServices.map((service) =>
    h(
      "span",
      { class: "actions" },
      ...(["stop", "start"] as const).map((command) =>
        actionButton(
          `${command === "stop" ? "Stop" : "Start"} ${service}`,
          `${command === "stop" ? "Stop" : "Start"} ${service} consumers`,
          () =>
            confirmAction(
              `${command === "stop" ? "Stop" : "Start"} the ${service} consumers?`,
              [["Effect", command === "stop" ? "events wait in Kafka until started" : "from the committed offsets"]],
              command === "stop" ? "Stop them" : "Start them",
            ),
          async () => {
            await unwrap(
              api.POST(`/v1/operations/${service}/consumers/${command}` as "/v1/operations/payments/consumers/stop"),
            );
            return `The ${service} consumers: ${command === "stop" ? "stopped" : "started"}.`;
          },
          status,
          redraw,
        ),
      ),
    ),
  );
  return [
    h("h1", {}, "Events"),
    status,
    h(
      "section",
      { "aria-labelledby": "letters-title" },
      h("h2", { id: "letters-title" }, "Dead letters"),
      letters.length === 0
        ? h("p", {}, "No dead letter waits.")
        : table(["Letter", "Event", "Where", "Error", "Attempts", "Dead since", ""], letterRows),
    ),
    h(
      "section",
      { "aria-labelledby": "consumers-title" },
      h("h2", { id: "consumers-title" }, "Consumers"),
      table(["Service", "Consumer", "State", "Lag", "Failures in a row"], consumerRows),
      h("p", {}, ...holds),
    ),
  ];
}

export async function accountsView(api: EdgebankClient, redraw: Redraw, notice = "", accountId = "") {
  const search = h("input", { id: "account-search", value: accountId, required: "", placeholder: "acc_… or usr_…" });
  const status = h("p", { id: "account-outcome", role: "status" }, notice);
  const form = h(
    "form",
    { role: "search", "aria-labelledby": "find-title" },
    h("h2", { id: "find-title" }, "Find an account"),
    ...field("Account or user id", search),
    h("p", {}, h("button", { type: "submit" }, "Find")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/accounts/${encodeURIComponent(search.value.trim())}`;
  });
  const content: HTMLElement[] = [h("h1", {}, "Accounts"), h("section", {}, form), status];
  if (!accountId) return content;
  if (accountId.startsWith("usr_")) {
    // A user's accounts, each a link to act on it.
    try {
      const { items } = await unwrap(
        api.GET("/v1/accounts", { params: { query: { ownerId: accountId, limit: 100 } } }),
      );
      content.push(
        h(
          "section",
          { "aria-labelledby": "owned-title" },
          h("h2", { id: "owned-title" }, "Accounts of ", h("code", {}, accountId)),
          items.length === 0
            ? h("p", {}, "This user has no account.")
            : table(
                ["Account", "Currency", "Status"],
                items.map((account) => [
                  h("a", { href: `#/accounts/${account.id}` }, account.id),
                  account.currency,
                  account.status,
                ]),
              ),
        ),
      );
    } catch (error) {
      announce(status, describe(error), true);
    }
    return content;
  }
  try {
    const path = { id: accountId };
    const [account, balance] = await Promise.all([
      unwrap(api.GET("/v1/accounts/{id}", { params: { path } })),
      unwrap(api.GET("/v1/accounts/{id}/balance", { params: { path } })),
    ]);
    const again = redraw;
    const figures: Array<[string, string]> = [
      ["Account", account.id],
      ["Owner", account.ownerId],
      ["Status", account.status],
      ["Available", balance.formatted.available],
    ];
    const toggle =
      account.status === "frozen"
        ? actionButton(
            "Unfreeze",
            `Unfreeze account ${account.id}`,
            () => confirmAction("Unfreeze this account?", figures, "Unfreeze"),
            async () => {
              await unwrap(
                api.POST("/v1/accounts/{id}/unfreeze", {
                  params: { path, header: { "Idempotency-Key": idempotencyKey() } },
                }),
              );
              return `Account ${account.id}: unfrozen.`;
            },
            status,
            again,
          )
        : actionButton(
            "Freeze",
            `Freeze account ${account.id}`,
            () => confirmAction("Freeze this account?", figures, "Freeze"),
            async () => {
              await unwrap(
                api.POST("/v1/accounts/{id}/freeze", {
                  params: { path, header: { "Idempotency-Key": idempotencyKey() } },
                }),
              );
              return `Account ${account.id}: frozen.`;
            },
            status,
            again,
          );
    const limit = h("input", { id: "credit-limit", inputmode: "decimal", required: "", placeholder: "0.00" });
    const limitForm = h(
      "form",
      { "aria-labelledby": "limit-title" },
      h("h3", { id: "limit-title" }, "Credit limit"),
      ...field(`New limit (${account.currency})`, limit),
      h("p", {}, h("button", { type: "submit" }, "Set the limit")),
    );
    limitForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const units = limit.value.trim() === "0" ? "0" : minorUnits(limit.value);
      if (!units) return announce(status, "Enter a limit such as 500.00.", true);
      const confirmed = await confirmAction(
        "Change the credit limit?",
        [
          ...figures,
          ["Current limit", formatMoney(balance.creditLimit, account.currency)],
          ["New limit", formatMoney(units, account.currency)],
        ],
        "Set the limit",
      );
      if (!confirmed) return;
      try {
        await unwrap(
          api.POST("/v1/accounts/{id}/credit-limit", {
            params: { path, header: { "Idempotency-Key": idempotencyKey() } },
            body: { creditLimit: units },
          }),
        );
        again(`Account ${account.id}: credit limit ${formatMoney(units, account.currency)}.`);
      } catch (error) {
        announce(status, `Refused: ${describe(error)}`, true);
      }
    });
    content.push(
      h(
        "section",
        { "aria-labelledby": "account-title" },
        h("h2", { id: "account-title" }, h("code", {}, account.id)),
        h(
          "dl",
          {},
          ...figures.slice(1).flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
          h("dt", {}, "Posted"),
          h("dd", {}, balance.formatted.posted),
          h("dt", {}, "Credit limit"),
          h("dd", {}, formatMoney(balance.creditLimit, account.currency)),
        ),
        h("p", { class: "actions" }, toggle),
        limitForm,
      ),
    );
  } catch (error) {
    announce(status, describe(error), true);
  }
  return content;
}

export async function rolloutsView(api: EdgebankClient, redraw: Redraw, notice = "") {
  const { items } = await unwrap(api.GET("/v1/operations/rollouts"));
  const status = h("p", { id: "rollouts-outcome", role: "status" }, notice);
  const commands = ["pause", "resume", "promote", "abort"] as const;
  const rows = items.map((rollout) => {
    const open = !["PROMOTED", "ROLLED_BACK", "ABORTED"].includes(rollout.status);
    return [
      h("code", {}, rollout.id),
      rollout.worker,
      rollout.status.toLowerCase().replace("_", " "),
      `${rollout.canaryPercentage} %`,
      when(rollout.createdAt),
      open
        ? h(
            "span",
            { class: "actions" },
            ...commands.map((command) =>
              actionButton(
                command[0]?.toUpperCase() + command.slice(1),
                `${command[0]?.toUpperCase()}${command.slice(1)} rollout ${rollout.id}`,
                () =>
                  confirmAction(
                    `${command[0]?.toUpperCase()}${command.slice(1)} this rollout?`,
                    [
                      ["Rollout", rollout.id],
                      ["Worker", rollout.worker],
                      ["New version", rollout.canaryVersionId],
                      ["Now", `${rollout.status.toLowerCase()}, ${rollout.canaryPercentage} % on the new version`],
                    ],
                    command,
                  ),
                async () => {
                  const after = await unwrap(
                    api.POST("/v1/operations/rollouts/{id}/{command}", {
                      params: { path: { id: rollout.id, command }, header: { "Idempotency-Key": idempotencyKey() } },
                    }),
                  );
                  return `Rollout ${after.id}: ${after.status.toLowerCase().replace("_", " ")}.`;
                },
                status,
                redraw,
              ),
            ),
          )
        : "",
    ];
  });
  return [
    h("h1", {}, "Rollouts"),
    status,
    items.length === 0
      ? h("p", {}, "No rollout yet.")
      : table(["Rollout", "Worker", "Status", "New version's share", "Started", ""], rows),
  ];
}
