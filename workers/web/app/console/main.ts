/**
 * The operator console: operators and auditors sign in with PKCE (the console asks for no scope,
 * so the token carries the role's); the sections shown are those the token's scopes open.
 * Views are chosen by the URL's fragment.
 */
import { type EdgebankClient, unwrap } from "@edgebank/client";
import { describe, h } from "../shared/dom.ts";
import { type SignInClient, startApp } from "../shared/sign-in.ts";
import { ledgerView } from "./ledger.ts";
import { accountsView, attentionView, eventsView, rolloutsView } from "./operations.ts";

const client: SignInClient = { clientId: "edgebank-console", path: "/console", scope: "openid" };
const main = document.querySelector("main") as HTMLElement;
const who = document.querySelector("#who") as HTMLElement;
const nav = document.querySelector("#sections") as HTMLElement;

type View = (api: EdgebankClient, redraw: (notice?: string) => void, notice?: string) => Promise<HTMLElement[]>;
interface Section {
  fragment: string;
  label: string;
  scope: "operator" | "auditor";
  view: View;
}

const sections: Section[] = [
  { fragment: "#/attention", label: "Needs attention", scope: "operator", view: attentionView },
  { fragment: "#/events", label: "Events", scope: "operator", view: eventsView },
  {
    fragment: "#/accounts",
    label: "Accounts",
    scope: "operator",
    view: (api, redraw, notice) => accountsView(api, redraw, notice),
  },
  { fragment: "#/rollouts", label: "Rollouts", scope: "operator", view: rolloutsView },
  { fragment: "#/ledger", label: "Ledger", scope: "auditor", view: ledgerView },
];

async function home(api: EdgebankClient, granted: string[], signOutButton: HTMLButtonElement) {
  const me = await unwrap(api.GET("/v1/auth/userinfo"));
  who.replaceChildren(h("span", {}, (me as { email?: string }).email ?? ""), signOutButton);
  const open = sections.filter((section) => granted.includes(section.scope));
  if (open.length === 0) {
    main.replaceChildren(
      h("h1", {}, "edgebank console"),
      h("p", { role: "alert" }, "This console is for operators and auditors."),
    );
    return;
  }
  nav.replaceChildren(...open.map((section) => h("a", { href: section.fragment }, section.label)));
  nav.hidden = false;

  let drawing = 0;
  const draw = async (notice?: string, focus = false) => {
    const turn = ++drawing;
    const fragment = location.hash || open[0]?.fragment || "";
    const account = /^#\/accounts\/(.+)$/.exec(fragment);
    const section = account ? open.find((s) => s.fragment === "#/accounts") : open.find((s) => s.fragment === fragment);
    for (const link of nav.querySelectorAll("a")) {
      if (link.getAttribute("href") === section?.fragment) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    try {
      const redraw = (next?: string) => void draw(next);
      const content = account
        ? await accountsView(api, redraw, notice, decodeURIComponent(account[1] ?? ""))
        : await (section ?? open[0])?.view(api, redraw, notice);
      if (turn === drawing) main.replaceChildren(...(content ?? []));
    } catch (error) {
      if (turn === drawing)
        main.replaceChildren(h("h1", {}, "edgebank console"), h("p", { role: "alert" }, describe(error)));
    }
    if (focus) main.focus();
  };
  window.addEventListener("hashchange", () => void draw(undefined, true));
  await draw();
}

void startApp(
  client,
  main,
  [h("h1", {}, "edgebank console"), h("p", {}, "For operators and auditors.")],
  (api, session, signOutButton) => home(api, (session.tokens.scope ?? "").split(" "), signOutButton),
);
