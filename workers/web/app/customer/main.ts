/**
 * The customer web app: sign-in by authorization code with PKCE (a public client, no secret);
 * accounts, balances and statements; transfers; paying merchants; the shop and its orders; and
 * notifications as they happen. Every call goes through @edgebank/client on the page's own
 * origin. Views are chosen by the URL's fragment (#/, #/accounts/<id>, #/pay, #/shop).
 */
import { type EdgebankClient, unwrap } from "@edgebank/client";
import { describe, h } from "../shared/dom.ts";
import { notificationsPanel } from "../shared/notifications.ts";
import { type SignInClient, startApp } from "../shared/sign-in.ts";
import { accountsView, statementView } from "./accounts.ts";
import { payView } from "./pay.ts";
import { shopView } from "./shop.ts";

const client: SignInClient = {
  clientId: "edgebank-app",
  path: "/app",
  scope:
    "openid accounts:read accounts:write transfers:read transfers:write payments:read payments:write " +
    "orders:read orders:write notifications:read notifications:write",
};
const main = document.querySelector("main") as HTMLElement;
const who = document.querySelector("#who") as HTMLElement;
const sections = document.querySelector("#sections") as HTMLElement;
const aside = document.querySelector("#notifications") as HTMLElement;

type View = (api: EdgebankClient, redraw: (notice?: string) => void, notice?: string) => Promise<HTMLElement[]>;

/** The view of the current fragment. */
function viewOf(fragment: string): View {
  const statement = /^#\/accounts\/([A-Za-z0-9_]+)$/.exec(fragment);
  if (statement?.[1]) {
    const id = statement[1];
    return (api) => statementView(api, id);
  }
  if (fragment === "#/pay") return payView;
  if (fragment === "#/shop") return shopView;
  return accountsView;
}

async function home(api: EdgebankClient, signOutButton: HTMLButtonElement): Promise<void> {
  const me = await unwrap(api.GET("/v1/auth/userinfo"));
  who.replaceChildren(h("span", {}, (me as { email?: string }).email ?? ""), signOutButton);
  sections.hidden = false;

  let drawing = 0;
  /** Draws the current view; `background`: because of a notification, skipped while the user types. */
  const draw = async (notice?: string, focus = false, background = false) => {
    const turn = ++drawing;
    const fragment = location.hash || "#/";
    for (const link of sections.querySelectorAll("a")) {
      const current =
        link.getAttribute("href") === fragment ||
        (fragment.startsWith("#/accounts") && link.getAttribute("href") === "#/");
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    let content: HTMLElement[];
    try {
      content = await viewOf(fragment)(api, (next) => void draw(next), notice);
    } catch (error) {
      content = [h("h1", {}, "edgebank"), h("p", { role: "alert" }, describe(error))];
    }
    // A slower drawing of an older fragment never replaces a newer one, nor a form being filled in.
    const typing = document.activeElement?.matches("input, select, textarea") ?? false;
    if (turn !== drawing || (background && typing)) return;
    const focused = document.activeElement?.id;
    main.replaceChildren(...content);
    // Focus goes to the new view, or stays on the control it was on.
    const again = focused ? main.querySelector<HTMLElement>(`#${CSS.escape(focused)}`) : null;
    if (focus || document.activeElement === document.body) (again ?? main).focus();
  };
  window.addEventListener("hashchange", () => void draw(undefined, true));
  // What a notification changes (a balance, an order's status) is drawn again, unless the user
  // is filling in a form.
  notificationsPanel(api, aside, () => void draw(keptNotice(), false, true));
  await draw();
}

/** The outcome shown on the page, kept when a notification redraws it. */
const keptNotice = () => main.querySelector("[id$='-outcome']")?.textContent ?? undefined;

void startApp(
  client,
  main,
  [h("h1", {}, "Welcome to edgebank"), h("p", {}, "Sign in to see your accounts.")],
  (api, _session, signOutButton) => home(api, signOutButton),
);
