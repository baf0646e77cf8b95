// Liveblog reader client: keeps a liveblog page live over the WebSocket.
//
// Works on the server-rendered page (/liveblogs/{slug}) and as an embed on any site:
//   <div data-liveblog="summit" data-origin="https://live.example.org"></div>
//   <script src="https://live.example.org/static/liveblog.js" defer></script>
// The protocol it speaks is docs/api.md's "Event protocol": resume with since=<last seq applied>.
(() => {
  "use strict";

  // Reconnect back-off: full jitter between 0 and min(MAX, BASE * 2^attempt).
  const RECONNECT_BASE_MS = 500;
  const RECONNECT_MAX_MS = 30000;
  const RELATIVE_TIME_REFRESH_MS = 30000;
  const PAGE_SIZE = 20;
  const KEY_EVENTS_SHOWN = 30;
  // How far below the top of the stream the reader may be and still see new entries arrive
  // in place; further down, they wait behind the "new updates" button.
  const AT_TOP_SLACK_PX = 120;
  // Close codes after which reconnecting cannot help (docs/api.md: close codes).
  const FINAL_CLOSE_CODES = new Set([4400, 4404]);

  const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const dateClockFormat = new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
  const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
  const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "long" });

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  }

  function clockText(date, withDate) {
    return withDate || !sameDay(date, new Date()) ? dateClockFormat.format(date) : clockFormat.format(date);
  }

  function relativeText(date) {
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    if (seconds > -45) return relativeFormat.format(0, "second").replace(/^\w/, (c) => c.toUpperCase());
    const minutes = Math.round(seconds / 60);
    if (minutes > -60) return relativeFormat.format(minutes, "minute");
    const hours = Math.round(minutes / 60);
    if (hours > -12) return relativeFormat.format(hours, "hour");
    return clockText(date, false);
  }

  // Local times for every <time> under `scope`: data-relative ones say "3 minutes ago".
  function localizeTimes(scope) {
    for (const el of scope.querySelectorAll("time[datetime]")) {
      const date = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) continue;
      el.title = fullFormat.format(date);
      if (el.hasAttribute("data-relative")) el.textContent = relativeText(date);
      else el.textContent = clockText(date, el.hasAttribute("data-date"));
    }
  }

  function element(tag, attributes = {}, children = []) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "class") el.className = value;
      else if (name === "text") el.textContent = value;
      else el.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) if (child) el.append(child);
    return el;
  }

  function plainText(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    return (doc.body.textContent || "").replace(/\s+/g, " ").trim();
  }

  function headline(entry) {
    if (entry.title) return entry.title;
    const text = plainText(entry.body);
    return text.length > 110 ? `${text.slice(0, 109).replace(/\s+\S*$/, "")}…` : text || "Update";
  }

  class LiveblogClient {
    constructor(root) {
      this.root = root;
      this.slug = root.dataset.liveblog;
      this.origin = (root.dataset.origin || window.location.origin).replace(/\/$/, "");
      this.seq = root.dataset.seq === undefined ? null : Number(root.dataset.seq);
      this.epoch = root.dataset.epoch || null; // the history `seq` counts in (docs/api.md: epochs)
      this.status = root.dataset.status || "live";
      this.socket = null;
      this.attempt = 0;
      this.retryTimer = null;
      this.reloading = null; // a REST reload in progress; live events wait in `held`
      this.held = [];
      this.pending = []; // new entries waiting behind the "new updates" button
      this.unseen = 0; // new entries that arrived while the tab was hidden
      this.baseTitle = document.title;
      this.stopped = false;
    }

    // Set-up ------------------------------------------------------------------------------

    start() {
      if (!this.root.querySelector("[data-lb-stream]")) this.buildSkeleton();
      this.el = {
        title: this.root.querySelector("[data-lb-title]"),
        description: this.root.querySelector("[data-lb-description]"),
        status: this.root.querySelector("[data-lb-status]"),
        ended: this.root.querySelector("[data-lb-ended]"),
        conn: this.root.querySelector("[data-lb-conn]"),
        pinned: this.root.querySelector("[data-lb-pinned]"),
        keyBox: this.root.querySelector("[data-lb-key-events-box]"),
        keyList: this.root.querySelector("[data-lb-key-events]"),
        stream: this.root.querySelector("[data-lb-stream]"),
        older: this.root.querySelector("[data-lb-older]"),
        newButton: this.root.querySelector("[data-lb-new]"),
        announce: this.root.querySelector("[data-lb-announce]"),
      };
      this.el.newButton.addEventListener("click", () => this.showPending(true));
      window.addEventListener("scroll", () => { if (this.pending.length && this.atTop()) this.showPending(false); }, { passive: true });
      document.addEventListener("visibilitychange", () => {
        if (!document.hidden) { this.unseen = 0; document.title = this.baseTitle; }
      });
      window.addEventListener("online", () => this.reconnectNow());
      window.addEventListener("offline", () => this.setConnection("offline"));
      if (this.el.older) this.el.older.addEventListener("click", (event) => this.loadOlder(event));
      if (this.seq === null) {
        this.reload().then(() => this.connect(), () => this.scheduleReconnect());
      } else {
        this.connect();
      }
    }

    buildSkeleton() {
      // Embed mode: the host page has only the empty root; build what the server page renders.
      this.root.classList.add("liveblog");
      this.root.append(
        element("header", { class: "lb-header" }, [
          element("div", { class: "lb-header__status" }, [
            element("span", { class: "lb-status", "data-lb-status": true }),
            element("span", { class: "lb-conn", "data-lb-conn": true, "data-state": "connecting", role: "status" }),
          ]),
          element("h2", { class: "lb-title", "data-lb-title": true }),
          element("p", { class: "lb-description", "data-lb-description": true, hidden: true }),
        ]),
        element("nav", { class: "key-events", "data-lb-key-events-box": true, hidden: true, "aria-label": "Key events" }, [
          element("h2", { text: "Key events" }),
          element("ol", { "data-lb-key-events": true }),
        ]),
        element("section", { class: "pinned", "data-lb-pinned": true, hidden: true, "aria-label": "Pinned update" }),
        element("button", { class: "new-updates", type: "button", "data-lb-new": true, hidden: true }),
        element("div", { class: "visually-hidden", "aria-live": "polite", "data-lb-announce": true }),
        element("div", { class: "stream", "data-lb-stream": true }),
      );
    }

    // Connection --------------------------------------------------------------------------

    connect() {
      if (this.stopped) return;
      clearTimeout(this.retryTimer);
      const wsOrigin = this.origin.replace(/^http/, "ws");
      let since = "";
      if (this.seq !== null) {
        since = `?since=${this.seq}`;
        if (this.epoch) since += `&epoch=${encodeURIComponent(this.epoch)}`;
      }
      const socket = new WebSocket(`${wsOrigin}/ws/liveblogs/${encodeURIComponent(this.slug)}${since}`);
      this.socket = socket;
      socket.addEventListener("message", (event) => {
        if (socket !== this.socket) return;
        let message;
        try { message = JSON.parse(event.data); } catch { return; }
        this.receive(message);
      });
      socket.addEventListener("close", (event) => {
        if (socket !== this.socket) return;
        this.socket = null;
        if (FINAL_CLOSE_CODES.has(event.code)) {
          this.stopped = true;
          this.setConnection("offline");
        } else if (this.status === "ended") {
          this.stopped = true; // nothing more will be published: stop reconnecting
          this.setConnection("ended");
        } else {
          this.scheduleReconnect();
        }
      });
    }

    scheduleReconnect() {
      if (this.stopped) return;
      if (navigator.onLine === false) { this.setConnection("offline"); return; }
      this.setConnection("reconnecting");
      const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** this.attempt);
      this.attempt += 1;
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.connect(), Math.random() * ceiling);
    }

    reconnectNow() {
      if (this.stopped || this.socket) return;
      this.attempt = 0;
      this.connect();
    }

    setConnection(state) {
      const labels = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline", ended: "" };
      if (!this.el.conn) return;
      this.el.conn.dataset.state = state;
      this.el.conn.textContent = labels[state] ?? "";
    }

    // Protocol ----------------------------------------------------------------------------

    receive(message) {
      if (message.type === "hello") {
        this.attempt = 0;
        if (!this.epoch) this.epoch = message.epoch || null;
        this.setConnection(this.status === "ended" ? "ended" : "live");
        return;
      }
      if (message.type === "resync") { this.reload(); return; }
      if (this.reloading) { this.held.push(message); return; }
      if (message.epoch && this.epoch && message.epoch !== this.epoch) {
        // Another history (the server's database was restored or moved): our seq means
        // nothing in it. The server says so with a resync; this is the belt to its braces.
        this.reload();
        return;
      }
      if (this.seq !== null && message.seq <= this.seq) return; // seen already: never twice
      this.seq = message.seq;
      if (message.type === "liveblog.updated") this.applyLiveblog(message.liveblog);
      else if (message.entry) this.applyEntry(message.entry, message.type);
    }

    // Reload through REST: on "resync", and to fill an embed. Live events wait meanwhile.
    reload() {
      if (this.reloading) return this.reloading;
      const api = `${this.origin}/api/liveblogs/${encodeURIComponent(this.slug)}`;
      const get = (path) => fetch(api + path, { headers: { Accept: "application/json" } }).then((response) => {
        if (!response.ok) throw new Error(`${response.status} from ${path}`);
        return response.json();
      });
      this.held = [];
      this.reloading = Promise.all([
        get(""),
        get(`/entries?limit=${PAGE_SIZE}`),
        get("/entries?pinned=true&limit=1"),
        get(`/entries?key_event=true&limit=${KEY_EVENTS_SHOWN}`),
      ]).then(([liveblog, page, pinned, keyEvents]) => {
        this.applyLiveblog(liveblog);
        this.el.stream.replaceChildren(...page.entries.map((entry) => this.renderEntry(entry)));
        this.setOlder(page.next_before);
        this.setPinned(pinned.entries[0] || null);
        this.el.keyList.replaceChildren(...keyEvents.entries.map((entry) => this.renderKeyEvent(entry)));
        this.el.keyBox.hidden = keyEvents.entries.length === 0;
        this.pending = [];
        this.updateNewButton();
        localizeTimes(this.root);
        // The four reads may straddle a change; events after the earliest are re-applied, and
        // applying an entry's state twice is harmless (see applyEntry).
        this.seq = Math.min(liveblog.seq, page.seq, pinned.seq, keyEvents.seq);
        // They may even straddle a new epoch: then the next event (or the reconnect's
        // resync) is of the newer one and reloads once more.
        this.epoch = liveblog.epoch || null;
      }).finally(() => {
        const held = this.held;
        this.reloading = null;
        this.held = [];
        for (const message of held) this.receive(message);
      });
      return this.reloading;
    }

    applyLiveblog(liveblog) {
      this.status = liveblog.status;
      this.root.dataset.status = liveblog.status;
      if (this.el.title) this.el.title.textContent = liveblog.title;
      if (this.el.description) {
        this.el.description.textContent = liveblog.description;
        this.el.description.hidden = !liveblog.description;
      }
      if (this.el.status) {
        this.el.status.textContent = liveblog.status === "live" ? "Live" : "Ended";
        this.el.status.className = `lb-status lb-status--${liveblog.status}`;
      }
      if (this.el.ended && liveblog.ended_at) {
        this.el.ended.hidden = false;
        const time = this.el.ended.querySelector("time");
        if (time) time.setAttribute("datetime", liveblog.ended_at);
        localizeTimes(this.el.ended);
      } else if (this.el.ended) {
        this.el.ended.hidden = true;
      }
      this.baseTitle = liveblog.title;
      document.title = this.unseen ? `(${this.unseen}) ${liveblog.title}` : liveblog.title;
      if (liveblog.status === "ended") this.setConnection("ended");
      else if (this.socket && this.el.conn && this.el.conn.dataset.state === "ended") this.setConnection("live"); // reopened
    }

    // Applying an entry's state is idempotent: a card already showing this seq or a later one
    // is left alone, so replays after a reload never regress or duplicate anything.
    applyEntry(entry, type) {
      const card = this.card(entry.id);
      if (card && Number(card.dataset.seq) >= entry.seq) return;
      this.updatePinned(entry);
      this.updateKeyEvent(entry);
      if (entry.deleted) {
        if (card) card.remove();
        this.pending = this.pending.filter((waiting) => waiting.dataset.entryId !== String(entry.id));
        this.updateNewButton();
        return;
      }
      if (card) {
        const edited = this.renderEntry(entry);
        card.replaceWith(edited);
        localizeTimes(edited);
        return;
      }
      const waiting = this.pending.findIndex((el) => el.dataset.entryId === String(entry.id));
      if (waiting >= 0) { this.pending[waiting] = this.renderEntry(entry); return; }
      if (type !== "entry.created") return; // an edit of an older entry not on this page
      this.addNew(this.renderEntry(entry, { fresh: true }), entry);
    }

    addNew(card, entry) {
      if (document.hidden) {
        this.unseen += 1;
        document.title = `(${this.unseen}) ${this.baseTitle}`;
      }
      this.announce(`New update: ${headline(entry)}`);
      if (this.atTop() && !this.pending.length) {
        this.insertTop([card]);
      } else {
        this.pending.unshift(card);
        this.updateNewButton();
      }
    }

    insertTop(cards) {
      const empty = this.el.stream.querySelector("[data-lb-empty]");
      if (empty) empty.remove();
      this.el.stream.prepend(...cards);
      for (const card of cards) localizeTimes(card);
      this.relinkKeyEvents();
    }

    showPending(scroll) {
      if (!this.pending.length) return;
      const cards = this.pending;
      this.pending = [];
      this.insertTop(cards);
      this.updateNewButton();
      if (scroll) this.el.stream.scrollIntoView({ behavior: "smooth", block: "start" });
    }

    updateNewButton() {
      const count = this.pending.length;
      this.el.newButton.hidden = count === 0;
      this.el.newButton.textContent = count === 1 ? "1 new update" : `${count} new updates`;
    }

    atTop() {
      return this.el.stream.getBoundingClientRect().top >= -AT_TOP_SLACK_PX;
    }

    announce(text) {
      if (!this.el.announce) return;
      this.el.announce.textContent = text;
    }

    card(id) {
      return this.el.stream.querySelector(`:scope > [data-entry-id="${id}"]`);
    }

    // Pinned entry and key events ---------------------------------------------------------

    updatePinned(entry) {
      const shown = this.el.pinned.querySelector("[data-entry-id]");
      if (entry.pinned && !entry.deleted) this.setPinned(entry);
      else if (shown && shown.dataset.entryId === String(entry.id)) this.setPinned(null);
    }

    setPinned(entry) {
      if (!this.el.pinned) return;
      if (entry) {
        const card = this.renderEntry(entry, { idPrefix: "pinned-" });
        this.el.pinned.replaceChildren(card);
        localizeTimes(card);
      } else {
        this.el.pinned.replaceChildren();
      }
      this.el.pinned.hidden = !entry;
    }

    updateKeyEvent(entry) {
      const list = this.el.keyList;
      const item = list.querySelector(`[data-entry-id="${entry.id}"]`);
      if (!entry.key_event || entry.deleted) {
        if (item) item.remove();
      } else if (item) {
        item.replaceWith(this.renderKeyEvent(entry));
      } else {
        list.prepend(this.renderKeyEvent(entry));
      }
      this.el.keyBox.hidden = list.children.length === 0;
      localizeTimes(list);
    }

    relinkKeyEvents() {
      for (const link of this.el.keyList.querySelectorAll("a")) {
        const id = link.parentElement.dataset.entryId;
        if (this.card(id)) link.setAttribute("href", `#entry-${id}`);
      }
    }

    // Rendering: the same markup as the server's templates/_entry.html ---------------------

    entryPath(entry) {
      return `${this.origin}/liveblogs/${encodeURIComponent(this.slug)}/entries/${entry.id}`;
    }

    renderEntry(entry, { fresh = false, idPrefix = "entry-" } = {}) {
      const classes = ["entry"];
      if (entry.key_event) classes.push("entry--key");
      if (entry.pinned) classes.push("entry--pinned");
      if (fresh) classes.push("entry--new");
      // "Updated" when its words changed, not for a pin or a key-event mark. A server from
      // before edited_at (a rolling upgrade) sends none: then any change counts, as it did.
      const editedAt = entry.edited_at !== undefined ? entry.edited_at : entry.version > 1 ? entry.updated_at : null;
      const meta = element("header", { class: "entry__meta" }, [
        element("a", { class: "entry__time", href: this.entryPath(entry), title: "Link to this update" }, [
          element("time", { datetime: entry.created_at, "data-relative": true }),
        ]),
        entry.pinned && element("span", { class: "entry__badge entry__badge--pinned", text: "Pinned" }),
        entry.key_event && element("span", { class: "entry__badge", text: "Key event" }),
        editedAt && element("span", { class: "entry__updated" }, [
          "Updated ",
          element("time", { datetime: editedAt, "data-clock": true }),
        ]),
      ]);
      const body = element("div", { class: "entry__body" });
      body.innerHTML = entry.body; // sanitized to an allow-list by the server on write
      return element("article", {
        class: classes.join(" "),
        id: `${idPrefix}${entry.id}`,
        "data-entry-id": entry.id,
        "data-seq": entry.seq,
      }, [
        meta,
        entry.title && element("h2", { class: "entry__title", text: entry.title }),
        body,
        entry.correction && element("p", { class: "entry__correction" }, [
          element("strong", { text: "Correction:" }),
          ` ${entry.correction}`, // a text node: plain text, never parsed as HTML
        ]),
        entry.author && element("p", { class: "entry__author", text: entry.author }),
      ]);
    }

    renderKeyEvent(entry) {
      const href = this.card(entry.id) ? `#entry-${entry.id}` : this.entryPath(entry);
      return element("li", { "data-entry-id": entry.id }, [
        element("a", { href }, [
          element("time", { datetime: entry.created_at, "data-clock": true }),
          element("span", { text: headline(entry) }),
        ]),
      ]);
    }

    // Older entries -----------------------------------------------------------------------

    setOlder(before) {
      if (!this.el.older && before !== null) {
        this.el.older = element("a", { class: "older", "data-lb-older": true, text: "Show older entries" });
        this.el.older.addEventListener("click", (event) => this.loadOlder(event));
        this.el.stream.after(this.el.older);
      }
      if (!this.el.older) return;
      if (before === null) { this.el.older.remove(); this.el.older = null; return; }
      this.el.older.dataset.before = before;
      this.el.older.href = `${this.origin}/liveblogs/${encodeURIComponent(this.slug)}?before=${before}`;
    }

    async loadOlder(event) {
      event.preventDefault();
      const link = this.el.older;
      if (!link || link.getAttribute("aria-busy") === "true") return;
      link.setAttribute("aria-busy", "true");
      try {
        const url = `${this.origin}/api/liveblogs/${encodeURIComponent(this.slug)}/entries?limit=${PAGE_SIZE}&before=${link.dataset.before}`;
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(String(response.status));
        const page = await response.json();
        const cards = page.entries.filter((entry) => !this.card(entry.id)).map((entry) => this.renderEntry(entry));
        this.el.stream.append(...cards);
        localizeTimes(this.el.stream);
        this.relinkKeyEvents();
        this.setOlder(page.next_before);
      } catch {
        window.location.href = link.href; // fall back to the plain link
      } finally {
        if (this.el.older) this.el.older.removeAttribute("aria-busy");
      }
    }
  }

  function init() {
    for (const root of document.querySelectorAll("[data-liveblog]")) {
      if (root.liveblogClient) continue;
      const client = new LiveblogClient(root);
      root.liveblogClient = client;
      // An older page (?before=) is static: it has no seq to resume from.
      if (root.dataset.seq === undefined && root.querySelector("[data-lb-stream]")) {
        localizeTimes(root);
        continue;
      }
      client.start();
    }
    localizeTimes(document.body);
    setInterval(() => localizeTimes(document.body), RELATIVE_TIME_REFRESH_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
