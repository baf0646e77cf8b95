// Footage and posts from other sites, loaded only when the reader asks (app/domain/embeds.py).
//
// An entry shows a pasted YouTube or X link as a placeholder: a link card naming the provider,
// in <figure class="embed" data-embed="youtube" data-embed-src="…">. Nothing is requested from
// the provider until the reader presses "Load content from YouTube"; then its player loads in a
// sandboxed iframe with the attributes the server's provider table gives (the JSON in
// #lb-embed-providers), from the provider's own hosts only (the page's CSP frame-src names
// exactly those). "Always load YouTube" is remembered in this browser. Without JavaScript the
// placeholder stays what it is: a plain link. The reader page and the console's preview both
// load this file; entries that arrive later are found as they are added to the page.
(function () {
  "use strict";

  const ALWAYS_KEY = "liveblog.embeds.always";
  const data = document.getElementById("lb-embed-providers");
  const providers = data ? JSON.parse(data.textContent || "{}") : {};

  function always() {
    try {
      const kept = JSON.parse(localStorage.getItem(ALWAYS_KEY) || "[]");
      return new Set(Array.isArray(kept) ? kept : []);
    } catch {
      return new Set(); // storage off (private mode, a policy): ask every time
    }
  }

  function remember(key, on) {
    const kept = always();
    if (on) kept.add(key);
    else kept.delete(key);
    try {
      localStorage.setItem(ALWAYS_KEY, JSON.stringify([...kept]));
    } catch {
      // not remembered; the choice still holds on this page
    }
  }

  // The provider of a placeholder, if its src is one of that provider's hosts.
  function providerOf(figure) {
    const provider = providers[figure.dataset.embed];
    const src = figure.dataset.embedSrc;
    if (!provider || !src) return null;
    let origin;
    try {
      origin = new URL(src).origin;
    } catch {
      return null;
    }
    return provider.hosts.split(" ").includes(origin) ? provider : null;
  }

  function load(figure) {
    const provider = providerOf(figure);
    if (!provider || figure.dataset.embedLoaded !== undefined) return;
    const frame = document.createElement("iframe");
    frame.className = `embed__frame embed__frame--${provider.shape}`;
    frame.title = `${provider.name} content`;
    frame.setAttribute("sandbox", provider.sandbox);
    if (provider.allow) frame.setAttribute("allow", provider.allow);
    frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    frame.src = figure.dataset.embedSrc;
    const consent = figure.querySelector(".embed__consent");
    if (consent) consent.remove();
    const card = figure.querySelector(".embed-card");
    if (card) card.replaceWith(frame);
    else figure.prepend(frame);
    figure.dataset.embedLoaded = "";
  }

  function offer(figure) {
    const provider = providerOf(figure);
    if (!provider || figure.dataset.embedOffered !== undefined) return;
    figure.dataset.embedOffered = "";
    if (always().has(figure.dataset.embed)) {
      load(figure);
      return;
    }
    const consent = document.createElement("div");
    consent.className = "embed__consent";
    const note = document.createElement("p");
    note.className = "embed__note";
    note.textContent = `Loading it lets ${provider.name} see that you are reading this page.`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "embed__load";
    button.textContent = `Load content from ${provider.name}`;
    const label = document.createElement("label");
    label.className = "embed__always";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = false;
    label.append(box, ` Always load ${provider.name}`);
    button.addEventListener("click", () => {
      if (box.checked) {
        remember(figure.dataset.embed, true);
        // Every placeholder of that provider on the page, as a reload would do.
        for (const other of document.querySelectorAll("figure.embed")) {
          if (other.dataset.embed === figure.dataset.embed) load(other);
        }
      }
      load(figure);
    });
    consent.append(note, button, label);
    const card = figure.querySelector(".embed-card");
    if (card) card.after(consent);
    else figure.prepend(consent);
  }

  function offerWithin(root) {
    if (root.matches && root.matches("figure.embed")) offer(root);
    if (root.querySelectorAll) for (const figure of root.querySelectorAll("figure.embed")) offer(figure);
  }

  function init() {
    offerWithin(document.body);
    // Entries arrive live (liveblog.js), the preview is redrawn as the journalist types.
    new MutationObserver((changes) => {
      for (const change of changes) for (const node of change.addedNodes) offerWithin(node);
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
