/* The editor's console: progressive behaviour over server-rendered pages. No framework.
 *
 * Every write sends the session's CSRF token (X-CSRF-Token); publishing sends an
 * Idempotency-Key that stays the same until the entry is out, so a double press (or a retry after
 * a network error) makes one entry; saving an edit sends If-Match with the version it started
 * from, and a 412 opens the conflict panel instead of overwriting someone else's change.
 */
(function () {
  "use strict";

  var csrf = document.body.getAttribute("data-csrf") || "";

  function ProblemError(status, body) {
    this.status = status;
    this.body = body || {};
    this.message = (body && body.detail) || "Something went wrong (" + status + ").";
  }

  function request(method, url, body, headers) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: Object.assign({ "X-CSRF-Token": csrf, Accept: "application/json" }, headers || {})
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      var type = response.headers.get("content-type") || "";
      var parse = type.indexOf("json") >= 0 ? response.json() : response.text();
      return parse.then(function (data) {
        if (!response.ok) throw new ProblemError(response.status, typeof data === "object" ? data : null);
        return data;
      });
    }, function () {
      throw new ProblemError(0, { detail: "The server could not be reached; nothing was lost. Try again." });
    });
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }

  function show(el, text) {
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  function localTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = d.toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
    });
  }

  /* Home: new liveblog --------------------------------------------------------------------- */

  function slugify(text) {
    return text.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 100);
  }

  var newLiveblog = document.querySelector("[data-new-liveblog]");
  if (newLiveblog) {
    var slugInput = newLiveblog.querySelector("[data-slug]");
    var slugEdited = false;
    slugInput.addEventListener("input", function () { slugEdited = true; });
    newLiveblog.querySelector("[data-slug-source]").addEventListener("input", function (e) {
      if (!slugEdited) slugInput.value = slugify(e.target.value);
    });
    newLiveblog.addEventListener("submit", function (e) {
      e.preventDefault();
      var error = newLiveblog.querySelector("[data-form-error]");
      show(error, "");
      request("POST", "/console/liveblogs", {
        title: newLiveblog.elements.title.value,
        slug: newLiveblog.elements.slug.value
      }).then(function (created) { location.assign(created.console); },
              function (err) { show(error, err.message); });
    });
  }

  /* Users (admins) ------------------------------------------------------------------------- */

  var newUser = document.querySelector("[data-new-user]");
  if (newUser) {
    newUser.addEventListener("submit", function (e) {
      e.preventDefault();
      var f = newUser.elements;
      var error = newUser.querySelector("[data-form-error]");
      request("POST", "/console/users", {
        username: f.username.value, display_name: f.display_name.value || null,
        role: f.role.value, password: f.password.value
      }).then(function () { location.reload(); }, function (err) { show(error, err.message); });
    });
  }
  document.querySelectorAll("[data-disable-user]").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-disable-user");
      request("POST", "/console/users/" + encodeURIComponent(name) + "/disable", {})
        .then(function () { location.reload(); }, function (err) { alert(err.message); });
    });
  });

  /* Workspace ------------------------------------------------------------------------------ */

  localTimes(document); // every page: times in the journalist's own zone, with the date

  var workspace = document.querySelector("[data-workspace]");
  if (!workspace) return;

  var slug = workspace.getAttribute("data-slug");
  var isEditor = workspace.getAttribute("data-role") !== "contributor";
  var base = "/console/liveblogs/" + slug;
  var form = workspace.querySelector("[data-compose-form]");
  var body = form.querySelector("[data-body]");
  var errorBox = workspace.querySelector("[data-compose-error]");
  var statusBox = workspace.querySelector("[data-compose-status]");
  var preview = workspace.querySelector("[data-preview]");
  var items = workspace.querySelector("[data-items]");
  var heading = workspace.querySelector("[data-compose-heading]");
  var conflict = workspace.querySelector("[data-conflict]");
  var authorDefault = workspace.getAttribute("data-display-name");
  var discarded = workspace.querySelector("[data-discarded]");
  var discardedText = workspace.querySelector("[data-discarded-text]");

  // What the form holds: a new entry (editing null) or an existing entry or draft.
  var editing = null; // {kind: "entry"|"draft", id, version, state}
  var publishKey = newKey();
  var busy = false;
  var emptiedAt = 0; // when the form was last emptied (a write went out, or Cancel)

  function fields() {
    var f = form.elements;
    return {
      title: f.title.value.trim() || null,
      source: body.value,
      author: f.author.value.trim() || null,
      key_event: f.key_event.checked,
      pinned: f.pinned.checked
    };
  }

  function publishAt() {
    var value = form.elements.publish_at.value;
    if (!value) return null;
    var when = new Date(value); // datetime-local is the browser's local time
    return isNaN(when) ? null : when.toISOString();
  }

  function toLocalInput(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  var notifyTimer = null;
  function notify(text) {
    show(errorBox, "");
    show(statusBox, text);
    clearTimeout(notifyTimer); // a confirmation, not a state: it goes after a while
    notifyTimer = setTimeout(function () { show(statusBox, ""); }, 8000);
  }
  function fail(err) { show(statusBox, ""); show(errorBox, err.message || String(err)); }

  function resetForm() {
    emptiedAt = Date.now();
    editing = null;
    discarded.hidden = true;
    form.reset();
    form.elements.author.value = authorDefault;
    form.querySelector("[data-correction-field]").hidden = true;
    form.querySelector("[data-publish-at-field]").hidden = !isEditor;
    form.querySelector("[data-new-actions]").hidden = false;
    form.querySelector("[data-edit-actions]").hidden = true;
    heading.textContent = "New entry";
    publishKey = newKey();
    schedulePreview();
  }

  function fill(kind, data) {
    editing = { kind: kind, id: data.id, version: data.version, state: data.state || "published" };
    discarded.hidden = true;
    var f = form.elements;
    f.title.value = data.title || "";
    body.value = data.source != null ? data.source : data.body;
    f.author.value = data.author || "";
    f.key_event.checked = !!data.key_event;
    f.pinned.checked = !!data.pinned;
    f.correction.value = data.correction || "";
    f.publish_at.value = toLocalInput(data.publish_at);
    form.querySelector("[data-correction-field]").hidden = kind !== "entry";
    form.querySelector("[data-publish-at-field]").hidden = !(kind === "draft" && data.state === "scheduled");
    form.querySelector("[data-new-actions]").hidden = true;
    form.querySelector("[data-edit-actions]").hidden = false;
    form.querySelector('[data-action="submit-edit"]').hidden = !(kind === "draft" && !isEditor && data.state === "draft");
    heading.textContent = kind === "entry" ? "Edit published entry" : "Edit " + (data.state === "scheduled" ? "scheduled entry" : "draft");
    schedulePreview();
    body.focus();
  }

  /* Preview: rendered by the server with the reader page's template and sanitizer. */
  var previewTimer = null;
  var previewSeq = 0;
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(renderPreview, 250);
  }
  function renderPreview() {
    var data = fields();
    if (!data.source.trim() && !data.title) {
      preview.innerHTML = '<p class="muted">Start writing to see the preview.</p>';
      return;
    }
    data.correction = (editing && editing.kind === "entry" && form.elements.correction.value.trim()) || null;
    var mine = ++previewSeq;
    request("POST", base + "/preview", data).then(function (html) {
      if (mine !== previewSeq) return;
      preview.innerHTML = html; // sanitized on the server; CSP applies
      // Times in the reader's clock, as the reader page's script shows them.
      preview.querySelectorAll("time[datetime]").forEach(function (t) {
        var d = new Date(t.getAttribute("datetime"));
        if (!isNaN(d)) t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      });
    }, function (err) {
      if (mine === previewSeq) preview.innerHTML = "";
      if (mine === previewSeq) preview.textContent = err.message;
    });
  }
  form.addEventListener("input", schedulePreview);
  form.addEventListener("change", schedulePreview);

  /* Markdown toolbar */
  function insert(before, after, placeholder) {
    var start = body.selectionStart, end = body.selectionEnd;
    var selected = body.value.slice(start, end) || placeholder || "";
    body.setRangeText(before + selected + (after || ""), start, end, "end");
    if (!body.value.slice(start, end)) {
      body.setSelectionRange(start + before.length, start + before.length + selected.length);
    }
    body.focus();
    schedulePreview();
  }
  function insertBlock(text, prefix) {
    var start = body.selectionStart, end = body.selectionEnd, value = body.value;
    if (prefix && end > start) { markLines(prefix, start, end); return; }
    var lead = start > 0 && value[start - 1] !== "\n" ? "\n\n" : "";
    body.setRangeText(lead + text + "\n\n", start, end, "end");
    body.focus();
    schedulePreview();
  }
  // A quote or list made of the selected lines: each gets the prefix, nothing is replaced.
  function markLines(prefix, start, end) {
    var value = body.value;
    if (value[end - 1] === "\n") end -= 1; // a selection ending at a line break
    start = value.lastIndexOf("\n", start - 1) + 1;
    var stop = value.indexOf("\n", end);
    end = stop < 0 ? value.length : stop;
    var lines = value.slice(start, end).split("\n").map(function (line) {
      return line.trim() ? prefix + line : prefix === "> " ? ">" : line; // one quote, blank lines kept
    });
    // A blank line after the block, or the next paragraph would join it (lazy continuation).
    var after = value.slice(end);
    var tail = after.slice(0, 2) === "\n\n" ? "" : after[0] === "\n" ? "\n" : "\n\n";
    body.setRangeText(lines.join("\n") + tail, start, end, "end");
    body.focus();
    schedulePreview();
  }
  function toggleBox(button, box) {
    var open = box.hidden;
    box.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) box.querySelector("input").focus();
  }
  form.querySelectorAll("[data-md]").forEach(function (button) {
    button.addEventListener("click", function () {
      switch (button.getAttribute("data-md")) {
        case "bold": insert("**", "**", "bold text"); break;
        case "italic": insert("*", "*", "italic text"); break;
        case "link": insert("[", "](https://)", "link text"); break;
        case "list": insertBlock("- First point\n- Second point", "- "); break;
        case "quote": insertBlock("> Quoted words", "> "); break;
        case "image": toggleBox(button, form.querySelector("[data-image-box]")); break;
        case "embed": toggleBox(button, form.querySelector("[data-embed-box]")); break;
      }
    });
  });
  form.querySelector("[data-image-insert]").addEventListener("click", function () {
    var box = form.querySelector("[data-image-box]");
    var url = box.querySelector("[data-image-url]").value.trim();
    if (!url) return;
    var caption = box.querySelector("[data-image-caption]").value.trim().replace(/[\[\]]/g, "");
    var w = box.querySelector("[data-image-width]").value, h = box.querySelector("[data-image-height]").value;
    var size = w && h ? ' "' + w + "x" + h + '"' : "";
    insertBlock("![" + caption + "](" + url.replace(/[()\s]/g, encodeURIComponent) + size + ")");
    box.querySelectorAll("input").forEach(function (i) { i.value = ""; });
    box.hidden = true;
    form.querySelector('[data-md="image"]').setAttribute("aria-expanded", "false");
  });
  form.querySelector("[data-embed-insert]").addEventListener("click", function () {
    var box = form.querySelector("[data-embed-box]");
    var url = box.querySelector("[data-embed-url]").value.trim();
    if (!url) return;
    insertBlock(url);
    box.querySelector("input").value = "";
    box.hidden = true;
    form.querySelector('[data-md="embed"]').setAttribute("aria-expanded", "false");
  });

  /* Actions */
  function run(action) {
    if (busy) return; // one write at a time; the Idempotency-Key covers what slips through
    var data = fields();
    var done;
    if (action === "cancel") { resetForm(); return; }
    if (!data.source.trim()) {
      // The second press of a double press (Ctrl+Enter twice, a double click) lands on the form
      // the first one emptied: nothing to tell, "Published." stays.
      if (Date.now() - emptiedAt < 1000) return;
      fail(new ProblemError(422, { detail: "Write the entry's body first." }));
      body.focus();
      return;
    }
    busy = true;
    if (action === "publish") {
      done = request("POST", base + "/entries", data, { "Idempotency-Key": publishKey })
        .then(function () { resetForm(); notify("Published."); }, function (err) {
          // A refusal is final for this key (the server keeps it): the corrected entry needs
          // a new one. A network error or a 5xx keeps the key, so a retry cannot publish twice.
          if (err.status >= 400 && err.status < 500) publishKey = newKey();
          throw err;
        });
    } else if (action === "schedule" || action === "draft" || action === "review") {
      var state = action === "schedule" ? "scheduled" : action;
      data.state = state;
      data.publish_at = action === "schedule" ? publishAt() : null;
      if (action === "schedule" && !data.publish_at) {
        busy = false;
        fail(new ProblemError(422, { detail: "Pick the date and time to publish at." }));
        form.elements.publish_at.focus();
        return;
      }
      done = request("POST", base + "/drafts", data).then(function () {
        resetForm();
        notify(state === "scheduled" ? "Scheduled." : state === "review" ? "Submitted for review." : "Draft saved.");
      });
    } else if (action === "save" || action === "submit-edit") {
      done = save(data, editing.version, action === "submit-edit");
    }
    done.catch(fail).then(function () { busy = false; refreshItems(); });
  }

  function save(data, version, thenSubmit) {
    var target = editing;
    var url = base + (target.kind === "entry" ? "/entries/" : "/drafts/") + target.id;
    if (target.kind === "entry") data.correction = form.elements.correction.value.trim() || null;
    if (target.kind === "draft" && target.state === "scheduled") data.publish_at = publishAt();
    return request("PATCH", url, data, { "If-Match": '"' + version + '"' }).then(function (saved) {
      if (thenSubmit) return request("POST", url + "/submit", {}).then(function () { resetForm(); notify("Submitted for review."); });
      resetForm();
      notify("Saved.");
      return saved;
    }, function (err) {
      if (err.status !== 412) throw err;
      // The 412 holds the current version as readers get it (HTML, for an entry); ask for it as
      // it was written (Markdown), to compare and to take over, falling back on the 412's copy.
      var fallback = Object.assign({}, err.body.current, { version: err.body.current_version });
      return request("GET", url).then(function (current) { openConflict(target, data, current); },
                                      function () { openConflict(target, data, fallback); });
    });
  }

  /* Conflict: both versions side by side; the editor chooses. Nothing is overwritten unseen. */
  function plain(html) {
    var doc = new DOMParser().parseFromString(html || "", "text/html");
    return (doc.body.textContent || "").trim();
  }
  var pending = null;
  function openConflict(target, mine, theirs) {
    pending = { target: target, mine: mine, theirs: theirs, version: theirs.version };
    conflict.querySelector("[data-conflict-who]").textContent =
      (theirs.updated_by && theirs.updated_by.name) || "someone";
    conflict.querySelector("[data-conflict-theirs]").textContent =
      (theirs.title ? theirs.title + "\n\n" : "") + (theirs.source || plain(theirs.body));
    conflict.querySelector("[data-conflict-mine]").textContent =
      (mine.title ? mine.title + "\n\n" : "") + mine.source;
    conflict.hidden = false;
    conflict.querySelector("[data-conflict-keep]").focus();
  }
  conflict.querySelector("[data-conflict-keep]").addEventListener("click", function () {
    if (!pending) return;
    var p = pending; pending = null; conflict.hidden = true;
    editing = p.target;
    body.focus(); // the focused button is gone: back to the text
    busy = true;
    save(p.mine, p.version, false).catch(fail).then(function () { busy = false; refreshItems(); });
  });
  conflict.querySelector("[data-conflict-take]").addEventListener("click", function () {
    if (!pending) return;
    var p = pending; pending = null; conflict.hidden = true;
    fill(p.target.kind, p.theirs);
    // Yours stays on the page to copy from, until this form is saved or cancelled.
    discardedText.textContent = (p.mine.title ? p.mine.title + "\n\n" : "") + p.mine.source;
    discarded.hidden = false;
    notify("Loaded their version. Yours is below the form until you save or cancel.");
  });

  form.addEventListener("submit", function (e) { e.preventDefault(); run(editing ? "save" : (isEditor ? "publish" : "review")); });
  form.querySelectorAll("[data-action]").forEach(function (button) {
    if (button.type === "submit") return;
    button.addEventListener("click", function () { run(button.getAttribute("data-action")); });
  });
  form.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run(editing ? "save" : (isEditor ? "publish" : "review"));
    }
  });

  /* The list: actions by delegation, reloaded whenever anything changes anywhere */
  items.addEventListener("click", function (e) {
    var button = e.target.closest("button");
    var item = button && button.closest("article[data-kind]");
    if (!item) return;
    var kind = item.getAttribute("data-kind"), id = item.getAttribute("data-id");
    var version = item.getAttribute("data-version");
    var url = base + (kind === "entry" ? "/entries/" : "/drafts/") + id;
    var act = function (p) { return p.then(refreshItems, fail); };
    if (button.hasAttribute("data-edit")) {
      request("GET", url).then(function (data) { fill(kind, data); }, fail);
    } else if (button.hasAttribute("data-pin")) {
      act(request("POST", url + "/flags", { pinned: item.getAttribute("data-pinned") !== "true" }, { "If-Match": '"' + version + '"' }));
    } else if (button.hasAttribute("data-delete")) {
      item.querySelector("[data-confirm]").hidden = false;
      item.querySelector("[data-confirm-delete]").focus();
    } else if (button.hasAttribute("data-cancel-delete")) {
      item.querySelector("[data-confirm]").hidden = true;
    } else if (button.hasAttribute("data-confirm-delete")) {
      act(request("DELETE", url, undefined, kind === "entry" ? { "If-Match": '"' + version + '"' } : {}));
      if (editing && editing.kind === kind && String(editing.id) === id) resetForm();
    } else if (button.hasAttribute("data-publish-draft")) {
      // If-Match: the version this editor reviewed; a contributor's later change is not
      // published unseen (412, and the list reloads to show it).
      act(request("POST", url + "/publish", {}, {
        "Idempotency-Key": "draft-" + id + "-" + version, "If-Match": '"' + version + '"'
      }));
    } else if (button.hasAttribute("data-return")) {
      act(request("POST", url + "/return", {}));
    } else if (button.hasAttribute("data-submit")) {
      act(request("POST", url + "/submit", {}));
    } else if (button.hasAttribute("data-unschedule")) {
      act(request("POST", url + "/unschedule", {}));
    }
  });

  var refreshTimer = null;
  function refreshItems() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      // Keep an open "Confirm delete" open across a refresh.
      var confirming = items.querySelector("[data-confirm]:not([hidden])");
      var keep = confirming && confirming.closest("article").getAttribute("data-id");
      fetch(base + "/items", { credentials: "same-origin" }).then(function (r) {
        if (r.status === 303 || r.redirected) { location.assign("/console"); return null; }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html == null) return;
        items.innerHTML = html;
        localTimes(items);
        if (keep) {
          var again = items.querySelector('article[data-id="' + keep + '"] [data-confirm]');
          if (again) again.hidden = false;
        }
      });
    }, 100);
  }

  /* End liveblog */
  var endBox = workspace.querySelector("[data-end-box]");
  if (endBox) {
    endBox.querySelector("[data-end]").addEventListener("click", function () {
      endBox.querySelector("[data-end-confirm]").hidden = false;
      endBox.querySelector("[data-end-yes]").focus();
    });
    endBox.querySelector("[data-end-no]").addEventListener("click", function () {
      endBox.querySelector("[data-end-confirm]").hidden = true;
    });
    endBox.querySelector("[data-end-yes]").addEventListener("click", function () {
      request("POST", base + "/end", {}).then(function () { location.reload(); }, fail);
    });
  }

  /* The console's socket: list changes and the readers count */
  var readers = workspace.querySelector("[data-readers]");
  var conn = workspace.querySelector("[data-conn]");
  var retry = 0;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + base + "/socket");
    socket.onopen = function () {
      if (retry > 0) refreshItems(); // anything may have changed while away
      retry = 0;
      conn.textContent = "Live";
      conn.setAttribute("data-state", "live");
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "changed") refreshItems();
      else if (data.type === "readers") readers.textContent = String(data.count);
    };
    socket.onclose = function (e) {
      conn.setAttribute("data-state", "offline");
      if (e.code === 4401 || e.code === 4403) {
        conn.textContent = "Signed out";
        location.assign("/console");
        return;
      }
      conn.textContent = "Reconnecting…";
      retry += 1;
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retry - 1)) * (0.5 + Math.random() / 2));
    };
  }
  connect();
  resetForm();
})();
