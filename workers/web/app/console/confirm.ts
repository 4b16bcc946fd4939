/** Confirmation before an operator's action: what will be done, to what, with the figures. */
import { h } from "../shared/dom.ts";

/** Asks in a modal dialog; true when the operator confirmed. Escape or Cancel is a no. */
export function confirmAction(title: string, facts: Array<[string, string]>, confirmLabel: string): Promise<boolean> {
  const dialog = document.querySelector("#confirm") as HTMLDialogElement;
  const yes = h("button", { type: "button", value: "yes" }, confirmLabel);
  const no = h("button", { type: "button", value: "no" }, "Cancel");
  dialog.replaceChildren(
    h("h2", { id: "confirm-title" }, title),
    h("dl", {}, ...facts.flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)])),
    h("p", { class: "muted" }, "This is recorded with your name."),
    h("p", { class: "actions" }, yes, no),
  );
  return new Promise((resolve) => {
    const close = (answer: boolean) => {
      dialog.close();
      resolve(answer);
    };
    yes.addEventListener("click", () => close(true));
    no.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", () => resolve(false), { once: true });
    dialog.showModal();
    no.focus();
  });
}
