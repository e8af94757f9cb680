// Copy buttons, row selection, dialogs and the one confirmation, and the poll guard (sorting and
// phone labels are in tables.js, relative times in times.js).
"use strict";

document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
});

// Polling pauses while the user is selecting rows, typing, or reading a dialog.
window.pollAllowed = function () {
  if (document.hidden) return false;
  if (document.querySelector("#dialog dialog[open]")) return false;
  if (document.querySelector('#page input[name="ids"]:checked')) return false;
  const focused = document.activeElement;
  return !(focused && focused.closest("#page") && focused.matches("input, select, textarea"));
};

function copyText(text, button) {
  const done = () => {
    const before = button.textContent;
    button.textContent = "✓";
    setTimeout(() => { button.textContent = before; }, 1200);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  done();
}

function refreshSelection(root) {
  const form = root.closest("form") || document;
  const count = form.querySelectorAll('input[name="ids"]:checked').length;
  form.querySelectorAll("[data-selected-count]").forEach((el) => { el.textContent = count; });
  form.querySelectorAll("[data-needs-selection]").forEach((el) => { el.disabled = count === 0; });
}

document.addEventListener("click", (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) { copyText(copy.dataset.copy, copy); return; }
  const from = event.target.closest("[data-copy-from]");
  if (from) {
    const source = document.querySelector(from.dataset.copyFrom);
    if (source) copyText(source.value, from);
    return;
  }
  const close = event.target.closest("[data-close-dialog]");
  if (close) {
    event.preventDefault();
    document.getElementById("dialog").innerHTML = "";
  }
});

document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (all) {
    const form = all.closest("form");
    form.querySelectorAll('input[name="ids"]').forEach((box) => { box.checked = all.checked; });
  }
  if (event.target.matches('input[name="ids"], [data-select-all]')) refreshSelection(event.target);
});

// One confirmation for every destructive action, a modal <dialog> that states the count: the
// server renders it for "… all" and for deleting a queue (confirm.html, swapped into #dialog); for
// selected rows and single tasks it is built here from #confirm-template, with the count taken when
// the button is pressed, so it is exactly what will be posted. Modal: focus moves into it (Cancel
// first), Tab stays inside, Escape closes it.
function showModal(dialog) {
  if (dialog.open && !dialog.matches(":modal")) dialog.close();
  if (!dialog.open) dialog.showModal();
}

document.addEventListener("htmx:afterSwap", (event) => {
  if (event.target.id === "dialog") event.target.querySelectorAll("dialog.confirm").forEach(showModal);
});

function plural(count) {
  return `${count} task${count === 1 ? "" : "s"}`;
}

function askFirst(button, proceed) {
  const verb = button.dataset.confirmSelected || button.dataset.confirmOne;
  const noun = button.dataset.confirmNoun || "task";
  let count = 1;
  let title = `${verb} this ${noun}?`;
  let message = `This will ${verb.toLowerCase()} ${noun} ${button.dataset.taskLabel || ""}.`;
  if (button.dataset.confirmSelected) {
    const form = button.closest("form") || document;
    count = form.querySelectorAll('input[name="ids"]:checked').length;
    title = `${verb} ${count} selected task${count === 1 ? "" : "s"}?`;
    message = `This will ${verb.toLowerCase()} the ${plural(count)} selected on this page.`;
  }
  const host = document.getElementById("dialog");
  const template = document.getElementById("confirm-template");
  if (!host || !template) { if (window.confirm(title)) proceed(); return; }
  const dialog = template.content.firstElementChild.cloneNode(true);
  dialog.querySelector("[data-confirm-title]").textContent = title;
  dialog.querySelector("[data-confirm-message]").textContent = message;
  dialog.querySelector("[data-confirm-count]").textContent = count;
  const yes = dialog.querySelector("[data-confirm]");
  yes.textContent = button.dataset.confirmSelected ? `${verb} ${plural(count)}` : `${verb} ${noun}`;
  yes.addEventListener("click", () => { host.innerHTML = ""; proceed(); });
  host.replaceChildren(dialog);
  showModal(dialog);
}

document.addEventListener("htmx:confirm", (event) => {
  const button = event.detail.elt;
  if (!button || !button.dataset || !(button.dataset.confirmSelected || button.dataset.confirmOne)) return;
  if (button.dataset.confirmed) { delete button.dataset.confirmed; return; }
  event.preventDefault();
  askFirst(button, () => {
    if (document.body.contains(button)) { event.detail.issueRequest(true); return; }
    // A refresh landed while the dialog was open and replaced the button: press its successor.
    const path = button.getAttribute("hx-post");
    const again = Array.from(document.querySelectorAll("[hx-post]"))
      .find((el) => el.getAttribute("hx-post") === path);
    if (again && !again.disabled) { again.dataset.confirmed = "yes"; again.click(); }
  });
});

// The same for a plain (non-htmx) form's button, such as deleting an unreadable record.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (!button || !button.dataset.confirmOne || button.hasAttribute("hx-post")) return;
  if (button.dataset.confirmed) { delete button.dataset.confirmed; return; }
  event.preventDefault();
  askFirst(button, () => { button.dataset.confirmed = "yes"; event.target.requestSubmit(button); });
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    const dialog = document.getElementById("dialog");
    if (dialog) dialog.innerHTML = "";
  }
});
