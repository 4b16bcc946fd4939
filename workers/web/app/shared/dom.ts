/**
 * What every page of the web app and the console builds with: elements, messages from problem
 * documents, amounts.
 */
import { ProblemError, type Schemas } from "@edgebank/client";

/** Builds an element: `h("button", { type: "submit" }, "Send")`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** A table with a header row; `rows` are cells (text or elements). */
export function table(headings: string[], rows: Array<Array<Node | string>>, numeric: number[] = []): HTMLElement {
  const cell = (content: Node | string, index: number) =>
    h("td", numeric.includes(index) ? { class: "amount" } : {}, content);
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, ...headings.map((heading) => h("th", { scope: "col" }, heading)))),
    h("tbody", {}, ...rows.map((row) => h("tr", {}, ...row.map(cell)))),
  );
}

/** A choice among the caller's accounts (name and id), e.g. where a payment comes from. */
export function accountSelect(id: string, accounts: Schemas["Account"][]): HTMLSelectElement {
  const select = h("select", { id, name: id, required: "" });
  for (const account of accounts)
    select.append(h("option", { value: account.id }, `${account.name ?? "Account"} ${account.id}`));
  return select;
}

/** A labelled field: the label, then the control (ids tie them together). */
export function field(label: string, control: HTMLElement): [HTMLElement, HTMLElement] {
  return [h("label", { for: control.id }, label), control];
}

/** What a failed call tells the user: the problem's detail and, for a refusal, its reason. */
export function describe(error: unknown): string {
  if (error instanceof ProblemError) {
    const reason = (error.problem as { reason?: unknown }).reason;
    return `${error.problem.detail ?? error.problem.title}${typeof reason === "string" ? ` (${reason})` : ""}`;
  }
  return error instanceof Error ? error.message : "Something went wrong.";
}

/** Shows a message in a live region: a refusal as an alert, anything else as a status. */
export function announce(region: HTMLElement, text: string, refused = false): void {
  region.setAttribute("role", refused ? "alert" : "status");
  region.textContent = text;
}

/** "12.50" in a currency with two decimals, as minor units ("1250"); undefined if not an amount. */
export function minorUnits(text: string): string | undefined {
  const match = /^(\d{1,15})(?:[.,](\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const units = BigInt(match[1] ?? "0") * 100n + BigInt((match[2] ?? "").padEnd(2, "0"));
  return units > 0n ? units.toString() : undefined;
}

/** Minor units of a two-decimal currency as "1,234.50 EUR" (negative amounts keep their sign). */
export function formatMoney(minor: string | null | undefined, currency: string): string {
  if (minor === null || minor === undefined) return "";
  const value = BigInt(minor);
  const sign = value < 0n ? "-" : "";
  const absolute = value < 0n ? -value : value;
  const units = (absolute / 100n).toLocaleString("en");
  return `${sign}${units}.${(absolute % 100n).toString().padStart(2, "0")} ${currency}`;
}

/** A date-time as the reader's locale writes it. */
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "");

/** Unpadded base64url of some bytes (PKCE verifiers, challenges, states). */
export const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
