// Modal dialogs on the page's one <dialog> (native focus trap, Escape to cancel).

import { h, replaceChildren } from "../dom.js";

/**
 * Ask a question. `choices`: [{value, label, kind: "primary"|"danger"|"ghost", testid}].
 * Resolves with the chosen value, or null when dismissed.
 */
export function ask(dialog, { title, body, choices, testid = "dialog", stacked = false }) {
  if (dialog.open) dialog.close("");
  return new Promise((resolve) => {
    const buttons = choices.map((choice) =>
      h("button", {
        type: "submit",
        class: `btn btn-${choice.kind || "ghost"}`,
        value: choice.value,
        "data-testid": choice.testid,
        autofocus: choice.autofocus || false,
      }, choice.label),
    );
    replaceChildren(
      dialog,
      h("form", { method: "dialog", class: "dialog-form" },
        h("h2", { class: "dialog-title", id: "dialog-title" }, title),
        body ? h("p", { class: "dialog-body" }, body) : null,
        h("div", { class: `dialog-actions${stacked ? " dialog-actions-stacked" : ""}` }, buttons),
      ),
    );
    dialog.dataset.testid = testid;
    dialog.setAttribute("data-testid", testid);
    const onClose = () => {
      dialog.removeEventListener("close", onClose);
      resolve(dialog.returnValue || null);
    };
    dialog.addEventListener("close", onClose);
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/** A yes/no confirmation; resolves true when confirmed. */
export async function confirmAction(dialog, { title, body, confirm, danger = true, testid }) {
  const answer = await ask(dialog, {
    title,
    body,
    testid,
    choices: [
      { value: "cancel", label: "Cancel", kind: "ghost", testid: "dialog-cancel", autofocus: true },
      { value: "ok", label: confirm, kind: danger ? "danger" : "primary", testid: "dialog-confirm" },
    ],
  });
  return answer === "ok";
}

/** Close the dialog if it is open (e.g. the session ended underneath it). */
export function dismiss(dialog) {
  if (dialog.open) dialog.close("");
}
