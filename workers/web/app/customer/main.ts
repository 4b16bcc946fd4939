/**
 * The customer web app: sign-in by authorization code with PKCE (a public client, no secret),
 * accounts and balances, opening an account, and transfers with their outcome or the reason
 * they were refused. Every call goes through @edgebank/client on the page's own origin.
 */
import {
  createEdgebankClient,
  type EdgebankClient,
  idempotencyKey,
  ProblemError,
  type Schemas,
  Session,
  type Tokens,
  unwrap,
} from "@edgebank/client";

const CLIENT_ID = "edgebank-app";
const baseUrl = location.origin;
const redirectUri = `${baseUrl}/app/callback`;
const endpoint = { baseUrl, clientId: CLIENT_ID };
const main = document.querySelector("main") as HTMLElement;
const who = document.querySelector("#who") as HTMLElement;

/** Builds an element: `h("button", { type: "submit" }, "Send")`. */
function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

/** Sends the browser to the sign-in page with a fresh PKCE verifier, state and nonce. */
async function signIn(): Promise<void> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("edgebank.pkce", JSON.stringify({ verifier, state }));
  const url = new URL(`${baseUrl}/v1/auth/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    scope: "openid accounts:read accounts:write transfers:read transfers:write",
    state,
    nonce: base64url(crypto.getRandomValues(new Uint8Array(16))),
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  location.assign(url);
}

/** The callback: checks the state, exchanges the code with the verifier, keeps the tokens for this tab. */
async function finishSignIn(): Promise<Tokens> {
  const parameters = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem("edgebank.pkce") ?? "{}") as { verifier?: string; state?: string };
  sessionStorage.removeItem("edgebank.pkce");
  if (parameters.get("error")) throw new Error(parameters.get("error_description") ?? "Sign-in was refused.");
  if (!pending.verifier || parameters.get("state") !== pending.state)
    throw new Error("This sign-in answer does not belong to this tab: sign in again.");
  const response = await fetch(`${baseUrl}/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: parameters.get("code") ?? "",
      redirect_uri: redirectUri,
      client_id: CLIENT_ID,
      code_verifier: pending.verifier,
    }),
  });
  const tokens = (await response.json()) as Tokens;
  if (!response.ok) throw new Error("The sign-in could not be completed: sign in again.");
  history.replaceState(null, "", "/app/");
  return tokens;
}

function describe(error: unknown): string {
  if (error instanceof ProblemError) {
    const reason = (error.problem as { reason?: unknown }).reason;
    return `${error.problem.detail}${typeof reason === "string" ? ` (${reason})` : ""}`;
  }
  return error instanceof Error ? error.message : "Something went wrong.";
}

/** "12.50" in a currency with two decimals, as minor units ("1250"); undefined if not an amount. */
function minorUnits(text: string): string | undefined {
  const match = /^(\d{1,15})(?:[.,](\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const units = BigInt(match[1] ?? "0") * 100n + BigInt((match[2] ?? "").padEnd(2, "0"));
  return units > 0n ? units.toString() : undefined;
}

async function accountsSection(
  api: EdgebankClient,
  items: Schemas["Account"][],
  onChange: () => void,
): Promise<HTMLElement> {
  const balances = await Promise.all(
    items.map((account) => unwrap(api.GET("/v1/accounts/{id}/balance", { params: { path: { id: account.id } } }))),
  );
  const rows = items.map((account, index) =>
    h(
      "tr",
      {},
      h("td", {}, account.name ?? "Account"),
      h("td", {}, h("code", {}, account.id)),
      h("td", { class: "amount" }, `${balances[index]?.formatted.available ?? "?"}`),
    ),
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
      onChange();
    } catch (error) {
      status.setAttribute("role", "alert");
      status.textContent = describe(error);
      open.disabled = false;
    }
  });
  return h(
    "section",
    { "aria-labelledby": "accounts-title" },
    h("h2", { id: "accounts-title" }, "Your accounts"),
    items.length === 0
      ? h("p", {}, "You have no account yet.")
      : h(
          "table",
          {},
          h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Account"), h("th", {}, "Available"))),
          h("tbody", {}, ...rows),
        ),
    h("p", {}, open),
    status,
  );
}

/**
 * The transfer form. `notice` is the outcome of the transfer just sent: the page is drawn again
 * with the new balances, and the outcome stays on it.
 */
function transferSection(
  api: EdgebankClient,
  accounts: Schemas["Account"][],
  onChange: (notice: string) => void,
  notice = "",
): HTMLElement {
  const from = h("select", { id: "from", name: "from", required: "" });
  for (const account of accounts)
    from.append(h("option", { value: account.id }, `${account.name ?? "Account"} ${account.id}`));
  const to = h("input", { id: "to", name: "to", required: "", autocomplete: "off" });
  const amount = h("input", { id: "amount", name: "amount", required: "", inputmode: "decimal", placeholder: "12.50" });
  const description = h("input", { id: "description", name: "description", required: "", maxlength: "140" });
  const outcome = h("p", { id: "transfer-outcome", role: "status" }, notice);
  const form = h(
    "form",
    { "aria-labelledby": "transfer-title" },
    h("h2", { id: "transfer-title" }, "Send money"),
    h("label", { for: "from" }, "From"),
    from,
    h("label", { for: "to" }, "To account"),
    to,
    h("label", { for: "amount" }, "Amount (EUR)"),
    amount,
    h("label", { for: "description" }, "Description"),
    description,
    h("p", {}, h("button", { type: "submit" }, "Send")),
    outcome,
  );
  // One key per intent: a retry of the same form sends the same key, a new transfer a new one.
  let key = idempotencyKey();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const units = minorUnits(amount.value);
    const show = (text: string, refused: boolean) => {
      outcome.setAttribute("role", refused ? "alert" : "status");
      outcome.textContent = text;
    };
    if (!units) return show("Enter an amount such as 12.50.", true);
    try {
      const transfer = await unwrap(
        api.POST("/v1/transfers", {
          params: { header: { "Idempotency-Key": key } },
          body: {
            fromAccountId: from.value,
            toAccountId: to.value.trim(),
            amount: units,
            currency: "EUR",
            description: description.value,
          },
        }),
      );
      key = idempotencyKey();
      onChange(`Transfer ${transfer.id}: ${transfer.status.toLowerCase()}.`);
    } catch (error) {
      if (error instanceof ProblemError && error.status === 422) key = idempotencyKey();
      show(`Refused: ${describe(error)}`, true);
    }
  });
  return h("section", {}, form);
}

async function home(session: Session): Promise<void> {
  const api = createEdgebankClient({ baseUrl, session });
  const me = await unwrap(api.GET("/v1/auth/userinfo"));
  const signOut = h("button", { type: "button" }, "Sign out");
  signOut.addEventListener("click", async () => {
    await session.signOut();
    sessionStorage.removeItem("edgebank.tokens");
    location.assign("/app/");
  });
  who.replaceChildren(h("span", {}, (me as { email?: string }).email ?? ""), signOut);
  const render = async (notice?: string) => {
    const { items } = await unwrap(api.GET("/v1/accounts"));
    const accounts = await accountsSection(api, items, () => void render());
    main.replaceChildren(h("h1", {}, "Accounts"), accounts, transferSection(api, items, render, notice));
  };
  await render();
}

async function start(): Promise<void> {
  try {
    if (location.pathname === "/app/callback") {
      sessionStorage.setItem("edgebank.tokens", JSON.stringify(await finishSignIn()));
    }
    const stored = sessionStorage.getItem("edgebank.tokens");
    const keep = (tokens: Tokens) => sessionStorage.setItem("edgebank.tokens", JSON.stringify(tokens));
    if (stored) return await home(new Session(endpoint, JSON.parse(stored) as Tokens, keep));
    const button = h("button", { type: "button" }, "Sign in");
    button.addEventListener("click", () => void signIn());
    main.replaceChildren(h("h1", {}, "Welcome to edgebank"), h("p", {}, "Sign in to see your accounts."), button);
  } catch (error) {
    sessionStorage.removeItem("edgebank.tokens");
    const again = h("button", { type: "button" }, "Sign in");
    again.addEventListener("click", () => void signIn());
    main.replaceChildren(h("h1", {}, "Sign in"), h("p", { role: "alert" }, describe(error)), again);
  }
  main.focus();
}

void start();
