/** The auditor's checks: the ledger's hash chain and checkpoints, and reconciliation with the accounts. */
import { type EdgebankClient, unwrap } from "@edgebank/client";
import { announce, describe, h, table, when } from "../shared/dom.ts";

export async function ledgerView(api: EdgebankClient, redraw: (notice?: string) => void, notice = "") {
  const [verification, { items: runs }] = await Promise.all([
    unwrap(api.GET("/v1/ledger/verify")),
    unwrap(api.GET("/v1/ledger/reconciliations")),
  ]);
  const status = h("p", { id: "ledger-outcome", role: "status" }, notice);
  const reconcile = h("button", { type: "button" }, "Reconcile now");
  reconcile.addEventListener("click", async () => {
    reconcile.disabled = true;
    try {
      const run = await unwrap(api.POST("/v1/ledger/reconciliations"));
      redraw(`Reconciliation ${run.id}: ${run.accountsChecked} accounts, ${run.mismatches?.length ?? 0} mismatches.`);
    } catch (error) {
      announce(status, `Refused: ${describe(error)}`, true);
      reconcile.disabled = false;
    }
  });
  return [
    h("h1", {}, "Ledger"),
    status,
    h(
      "section",
      { "aria-labelledby": "chain-title" },
      h("h2", { id: "chain-title" }, "Hash chain"),
      h(
        "p",
        { id: "chain-verdict", role: verification.valid ? "status" : "alert" },
        verification.valid
          ? `Intact: ${verification.entries} entries, ${verification.checkpoints} signed checkpoints verified.`
          : `Broken at ${verification.firstBreak?.sequence}: ${verification.firstBreak?.reason} (${verification.firstBreak?.detail}).`,
      ),
    ),
    h(
      "section",
      { "aria-labelledby": "runs-title" },
      h("h2", { id: "runs-title" }, "Reconciliations"),
      runs.length === 0
        ? h("p", {}, "None yet.")
        : table(
            ["Started", "By", "Accounts", "Mismatches"],
            runs.map((run) => [
              when(run.startedAt),
              run.actor ?? run.trigger,
              String(run.accountsChecked),
              (run.mismatches ?? []).map((m) => `${m.accountId}: ${m.difference} ${m.currency}`).join("; ") || "none",
            ]),
            [2],
          ),
      h("p", {}, reconcile),
    ),
  ];
}
