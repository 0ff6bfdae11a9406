// Signpost's draft page, enhanced: every form still works on its own; this posts it in the background, swaps in
// the parts of the page that changed, keeps the reader's place and focus, announces the change, and adds keys.
"use strict";

(function () {
  const FETCH_HEADER = "X-Signpost-Fetch";
  // The parts of the draft a change can touch; each is swapped only when its markup changed.
  const PARTS = "#summary, section.topic, #suggestions, #log";
  const KEYS = { a: "a", r: "r", u: "u" };
  let busy = false;

  let toastTimer = 0;
  // Said to screen readers through the live region, and shown for a moment to everyone else.
  const announce = (text) => {
    const region = document.getElementById("announce");
    if (region) {
      // Emptied first so the same words said twice are announced twice.
      region.textContent = "";
      window.setTimeout(() => { region.textContent = text; }, 30);
    }
    let toast = document.getElementById("toast");
    if (!toast) {
      toast = document.createElement("p");
      toast.id = "toast";
      toast.className = "flash toast";
      toast.setAttribute("aria-hidden", "true");
      document.body.appendChild(toast);
    }
    toast.textContent = text;
    toast.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(() => { toast.hidden = true; }, 5000);
  };

  const items = () => Array.from(document.querySelectorAll("li.item"));
  const currentItem = () => (document.activeElement ? document.activeElement.closest("li.item") : null);

  const focusItem = (item) => {
    if (!item) return;
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  };

  // The item's title and what was done, in the words a screen reader user hears.
  const describe = (form, submitter) => {
    const item = form.closest("li.item");
    const label = submitter ? submitter.getAttribute("aria-label") || submitter.textContent.trim() : "Saved";
    return item ? `${label}: ${item.dataset.title}` : label;
  };

  const swap = (html, focusId, anchor) => {
    const fresh = new DOMParser().parseFromString(html, "text/html");
    const before = anchor ? anchor.getBoundingClientRect().top : null;
    const anchorId = anchor ? anchor.id : null;
    const old = Array.from(document.querySelectorAll(PARTS));
    const next = Array.from(fresh.querySelectorAll(PARTS));
    const byId = new Map(next.map((part) => [part.id, part]));
    for (const part of old) {
      const replacement = byId.get(part.id);
      if (!replacement) part.remove();
      else if (replacement.outerHTML !== part.outerHTML) part.replaceWith(document.importNode(replacement, true));
    }
    // The approve form and anything else the page now lacks or gained: the page's sections in the new order.
    const approve = document.getElementById("approve");
    if (approve && !fresh.getElementById("approve")) approve.remove();
    // Keep the reader where they were: the element they acted on stays at the same height on the screen.
    const kept = anchorId ? document.getElementById(anchorId) : null;
    if (kept && before !== null) window.scrollBy(0, kept.getBoundingClientRect().top - before);
    const target = (focusId && document.getElementById(focusId)) || kept;
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus({ preventScroll: true });
      // Scrolled to only when it is off the screen (an item added, or moved far): otherwise the page stays put.
      const box = target.getBoundingClientRect();
      if (box.bottom < 0 || box.top > window.innerHeight) target.scrollIntoView({ block: "center" });
    }
    const flash = fresh.querySelector(".flash");
    return flash ? flash.textContent.trim() : null;
  };

  const post = async (form, submitter) => {
    if (busy) return;
    busy = true;
    const anchor = form.closest("li.item, section");
    const said = describe(form, submitter);
    const body = new FormData(form);
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body,
        headers: { [FETCH_HEADER]: "1" },
        credentials: "same-origin",
      });
      if (!response.ok) {
        announce(`Not done: the server answered ${response.status}. Reload the page and try again.`);
        return;
      }
      const flash = swap(await response.text(), response.headers.get("X-Signpost-Focus"), anchor);
      announce(flash || said);
    } catch (error) {
      announce("Not done: the server could not be reached. Try again.");
    } finally {
      busy = false;
    }
  };

  document.addEventListener("submit", (event) => {
    const form = event.target;
    // Only the forms of the items, sections and suggestions; approving the digest and the rest load a page.
    if (!(form instanceof HTMLFormElement) || !form.closest("section.topic, #suggestions")) return;
    if (form.method.toLowerCase() !== "post") return;
    event.preventDefault();
    post(form, event.submitter);
  });

  let beforeHelp = null;
  const toggleKeys = (show) => {
    const help = document.getElementById("keys");
    if (!help) return;
    const visible = show === undefined ? help.hidden : show;
    if (visible === !help.hidden) return;
    help.hidden = !visible;
    if (visible) {
      beforeHelp = document.activeElement;
      help.focus();
    } else if (beforeHelp && document.contains(beforeHelp)) {
      beforeHelp.focus({ preventScroll: true });
    }
  };

  const step = (by) => {
    const all = items();
    if (!all.length) return;
    const at = all.indexOf(currentItem());
    if (at < 0) {
      // Nothing chosen yet: start from the first item on the screen, not the top of the page.
      const seen = all.find((item) => item.getBoundingClientRect().bottom > 0);
      focusItem(seen || all[0]);
      return;
    }
    focusItem(all[Math.min(all.length - 1, Math.max(0, at + by))]);
  };

  const act = (key) => {
    const item = currentItem();
    if (!item) return;
    const form = item.querySelector(`form[data-key="${key}"]`);
    if (form) post(form, form.querySelector("button"));
  };

  const edit = () => {
    const item = currentItem();
    const details = item ? item.querySelector("details.edit") : null;
    if (!details) return;
    details.open = true;
    details.querySelector("input[name=title]").focus();
  };

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") {
      toggleKeys(false);
      return;
    }
    if (typing) return;
    const handlers = { j: () => step(1), k: () => step(-1), e: edit, "?": () => toggleKeys() };
    if (handlers[event.key]) handlers[event.key]();
    else if (KEYS[event.key]) act(KEYS[event.key]);
    else return;
    event.preventDefault();
  });

  const hint = document.querySelector(".keys-hint");
  if (hint) hint.hidden = false;
})();
