// Progressive enhancement for the portal: confirmation dialogs, Copy and Hide buttons and the phone menu.
// Every action also works without this file: links lead to confirmation pages, forms post.
"use strict";

document.documentElement.classList.add("js");

function announce(text) {
  const live = document.getElementById("live");
  if (live) {
    live.textContent = text;
  }
}

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

async function valueFor(button) {
  const shown = document.getElementById(button.dataset.copy);
  if (shown) {
    return shown.textContent.trim();
  }
  // Not on the page: ask the server, which records the Show in Activity.
  const response = await fetch(button.dataset.copyUrl, {
    method: "POST",
    headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
  });
  if (response.status === 403) {
    // The password was typed too long ago: confirm it, then come back here.
    const body = await response.json().catch(() => ({}));
    if (body.reauthenticate_url) {
      window.location.assign(body.reauthenticate_url);
      return new Promise(() => {});
    }
  }
  if (!response.ok) {
    throw new Error("The server refused to show this value (" + response.status + ").");
  }
  return (await response.json()).value;
}

// A confirmation dialog shared by every row: the opener's href is both the no-script
// confirmation page and the address the dialog's form posts to.
function openConfirmation(opener, dialog) {
  dialog.querySelector("form[method=post]").action = opener.href;
  for (const field of ["title", "text", "verb"]) {
    const target = dialog.querySelector(`[data-fill=${field}]`);
    if (target) {
      target.textContent = opener.dataset[field] || "";
    }
  }
  const warnings = dialog.querySelector("[data-fill=warnings]");
  if (warnings) {
    const source = opener.parentElement.querySelector("template.warnings");
    warnings.querySelector("ul").replaceChildren(...(source ? source.content.cloneNode(true).childNodes : []));
    warnings.hidden = !source;
  }
  dialog.showModal();
}

// Hide puts a shown value's hint back and takes the value itself out of the page. With Show on,
// the row's Show button comes back (and Copy asks the server again); in show-once mode nothing on
// the page can bring the value back, so Copy goes too.
function hideValue(button) {
  const shown = document.getElementById(button.dataset.hide);
  const actions = button.parentElement;
  if (shown) {
    const masked = document.createElement("code");
    masked.className = "masked";
    masked.setAttribute("aria-label", button.dataset.hintLabel);
    masked.textContent = button.dataset.hint;
    shown.replaceWith(masked);
  }
  const copy = actions.querySelector(`[data-copy="${button.dataset.hide}"]`);
  if (copy && !copy.dataset.copyUrl) {
    copy.remove();
  }
  const show = actions.querySelector("form[hidden]");
  if (show) {
    show.hidden = false;
  }
  button.remove();
  const next = actions.querySelector("form:not([hidden]) button, [data-copy], a");
  if (next) {
    next.focus();
  }
  announce(button.dataset.hideLabel + (show ? " hidden." : " hidden. It cannot be shown again: regenerate it if it was not copied."));
}

// The top bar's Menu button, shown by portal.css on narrow screens only.
function setMenu(button, open) {
  button.setAttribute("aria-expanded", open ? "true" : "false");
}

document.addEventListener("keydown", (event) => {
  const button = document.querySelector("[data-menu][aria-expanded=true]");
  if (button && event.key === "Escape") {
    setMenu(button, false);
    button.focus();
  }
});

document.addEventListener("click", async (event) => {
  const menu = event.target.closest("[data-menu]");
  if (menu) {
    setMenu(menu, menu.getAttribute("aria-expanded") !== "true");
    return;
  }
  const opener = event.target.closest("[data-confirm]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.confirm);
    if (dialog && typeof dialog.showModal === "function") {
      event.preventDefault();
      openConfirmation(opener, dialog);
    }
    return;
  }
  const hide = event.target.closest("[data-hide]");
  if (hide) {
    hideValue(hide);
    return;
  }
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    try {
      await navigator.clipboard.writeText(await valueFor(copy));
      copy.textContent = "Copied";
      announce(copy.dataset.copyLabel + " copied to the clipboard.");
      setTimeout(() => { copy.textContent = "Copy"; }, 2000);
    } catch (error) {
      announce("Could not copy: " + error.message);
    }
  }
});
