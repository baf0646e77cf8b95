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

  /* The users page and "Your account" have their own script: users.js. */

  /* Workspace ------------------------------------------------------------------------------ */

  localTimes(document); // every page: times in the journalist's own zone, with the date

  var workspace = document.querySelector("[data-workspace]");
  if (!workspace) return;

  var slug = workspace.getAttribute("data-slug");
  var isEditor = workspace.getAttribute("data-role") !== "contributor";
  var userId = workspace.getAttribute("data-user-id");
  var base = "/console/liveblogs/" + slug;
  var form = workspace.querySelector("[data-compose-form]");
  var body = form.querySelector("[data-body]");
  var errorBox = workspace.querySelector("[data-compose-error]");
  var statusBox = workspace.querySelector("[data-compose-status]");
  var restoredBox = workspace.querySelector("[data-restored]");
  var preview = workspace.querySelector("[data-preview]");
  var items = workspace.querySelector("[data-items]");
  var heading = workspace.querySelector("[data-compose-heading]");
  var conflict = workspace.querySelector("[data-conflict]");
  var deletedPanel = workspace.querySelector("[data-deleted]");
  var authorDefault = workspace.getAttribute("data-display-name");
  var discarded = workspace.querySelector("[data-discarded]");
  var discardedText = workspace.querySelector("[data-discarded-text]");
  var primary = form.querySelector("[data-primary]");
  var publishNowButton = form.querySelector('[data-action="publish-now"]');
  var scheduleButton = form.querySelector('[data-action="schedule"]');
  var pastConfirm = form.querySelector("[data-past-confirm]");
  var cancelConfirm = form.querySelector("[data-cancel-confirm]");

  // What the form holds: a new entry (editing null) or an existing entry or draft, with the
  // version it was loaded at and its fields then (`base`: what a three-way merge starts from).
  var editing = null; // {kind: "entry"|"draft", id, version, state, base}
  var publishKey = newKey();
  var busy = false;
  var emptiedAt = 0; // when the form was last emptied (a write went out, or Cancel)
  var baseline = null; // the form as loaded: anything else is unsaved work

  /* The form's fields ---------------------------------------------------------------------- */

  // Everything the form holds, as typed: what autosave keeps and what "unsaved" compares.
  function formState() {
    var f = form.elements;
    return {
      title: f.title.value, source: body.value, author: f.author.value,
      key_event: f.key_event.checked, pinned: f.pinned.checked,
      correction: f.correction.value, publish_at: f.publish_at.value
    };
  }
  function setFormState(state) {
    var f = form.elements;
    f.title.value = state.title || "";
    body.value = state.source || "";
    f.author.value = state.author == null ? "" : state.author;
    f.key_event.checked = !!state.key_event;
    f.pinned.checked = !!state.pinned;
    f.correction.value = state.correction || "";
    f.publish_at.value = state.publish_at || "";
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  function dirty() { return baseline !== null && !same(formState(), baseline); }

  // What is sent: blank text fields mean "none".
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
    // As the browser writes the field's value: seconds only when there are some.
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + (d.getSeconds() ? ":" + pad(d.getSeconds()) : "");
  }

  function shortTime(iso) {
    var d = new Date(iso);
    var today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  /* Messages: one status or error at a time; field errors beside their field ------------ */

  var notifyTimer = null;
  function clearMessages() {
    clearTimeout(notifyTimer);
    show(statusBox, "");
    show(errorBox, "");
    form.querySelectorAll("[data-field-error]").forEach(function (p) { show(p, ""); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }
  function notify(text) {
    show(errorBox, "");
    show(statusBox, text);
    clearTimeout(notifyTimer); // a confirmation, not a state: it goes after a while
    notifyTimer = setTimeout(function () { show(statusBox, ""); }, 8000);
  }
  // The API names the body "body"; the form calls it "source".
  var FIELD_INPUTS = { title: "title", body: "source", source: "source", author: "author", correction: "correction", publish_at: "publish_at" };
  function fail(err) {
    show(statusBox, "");
    show(errorBox, err.message || String(err));
    var first = null;
    ((err.body && err.body.errors) || []).forEach(function (item) {
      var name = FIELD_INPUTS[item.field];
      if (!name) return;
      show(form.querySelector('[data-field-error="' + name + '"]'), item.message);
      var input = form.elements[name];
      if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
    });
    if (first) first.focus();
  }

  /* Autosave: the form, in this browser, per user, liveblog and entry ------------------------ */

  var STORE = "liveblog.console.v1:" + userId + ":" + slug + ":";
  function target() { return editing ? editing.kind + ":" + editing.id : "new"; }
  function readSaved(name) {
    try { return JSON.parse(localStorage.getItem(STORE + name) || "null"); } catch (e) { return null; }
  }
  function forget(name) {
    try { localStorage.removeItem(STORE + name); } catch (e) { /* storage off: nothing kept */ }
  }
  function autosave() {
    try {
      if (dirty()) {
        localStorage.setItem(STORE + target(), JSON.stringify({ savedAt: Date.now(), editing: editing, state: formState() }));
        localStorage.setItem(STORE + "open", target());
      } else {
        localStorage.removeItem(STORE + target());
      }
    } catch (e) { /* storage full or off: the beforeunload question still guards */ }
  }
  var autosaveTimer = null;
  function scheduleAutosave() { clearTimeout(autosaveTimer); autosaveTimer = setTimeout(autosave, 300); }
  function showRestored(saved, why) {
    var when = new Date(saved.savedAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    restoredBox.querySelector("[data-restored-text]").textContent =
      "Restored your unsaved " + (saved.editing ? "changes" : "entry") + " from " + when + "." + (why ? " " + why : "");
    restoredBox.hidden = false;
  }
  restoredBox.querySelector("[data-restored-discard]").addEventListener("click", function () {
    var was = editing;
    forget(target());
    restoredBox.hidden = true;
    if (was && was.kind) {
      // Back to the entry as it is on the server.
      var url = base + (was.kind === "entry" ? "/entries/" : "/drafts/") + was.id;
      request("GET", url).then(function (data) { fill(was.kind, data, true); }, function () { resetForm(); });
    } else {
      resetForm(true);
    }
  });

  /* Loading the form --------------------------------------------------------------------- */

  function showEditUi(kind, state) {
    form.querySelector("[data-correction-field]").hidden = kind !== "entry";
    form.querySelector("[data-publish-at-field]").hidden = !(kind === "draft" && state === "scheduled");
    form.querySelector("[data-new-actions]").hidden = true;
    form.querySelector("[data-edit-actions]").hidden = false;
    form.querySelector('[data-action="submit-edit"]').hidden = !(kind === "draft" && !isEditor && state === "draft");
    heading.textContent = kind === "entry" ? "Edit published entry" : "Edit " + (state === "scheduled" ? "scheduled entry" : "draft");
  }

  // A new, empty form, or, if this browser keeps an unsaved new entry, that one. `fresh`
  // forgets the kept one first.
  function resetForm(fresh) {
    emptiedAt = Date.now();
    if (editing) announceEditing(null);
    editing = null;
    closePanels();
    discarded.hidden = true;
    cancelConfirm.hidden = true;
    pastConfirm.hidden = true;
    form.reset();
    form.elements.author.value = authorDefault;
    form.querySelector("[data-correction-field]").hidden = true;
    form.querySelector("[data-publish-at-field]").hidden = !isEditor;
    form.querySelector("[data-new-actions]").hidden = false;
    form.querySelector("[data-edit-actions]").hidden = true;
    heading.textContent = "New entry";
    publishKey = newKey();
    baseline = formState();
    if (fresh) forget("new");
    var kept = readSaved("new");
    if (kept && kept.state) {
      setFormState(kept.state);
      if (!fresh) showRestored(kept);
    } else {
      restoredBox.hidden = true;
    }
    try { localStorage.setItem(STORE + "open", "new"); } catch (e) { /* nothing kept */ }
    updatePrimary();
    schedulePreview();
  }

  function valuesOf(data) {
    return {
      title: data.title || "", source: data.source != null ? data.source : (data.body || ""),
      author: data.author || "", key_event: !!data.key_event, pinned: !!data.pinned,
      correction: data.correction || "", publish_at: toLocalInput(data.publish_at)
    };
  }

  // Load an entry or draft into the form, as the server has it; or, if this browser kept
  // unsaved changes to it, those (saving them later merges with anything saved meanwhile).
  function fill(kind, data, fromServer) {
    editing = { kind: kind, id: data.id, version: data.version, state: data.state || "published", base: valuesOf(data) };
    closePanels();
    discarded.hidden = true;
    cancelConfirm.hidden = true;
    setFormState(editing.base);
    baseline = formState();
    showEditUi(kind, editing.state);
    var kept = fromServer ? null : readSaved(target());
    if (kept && kept.state && kept.editing) {
      editing.version = kept.editing.version;
      editing.base = kept.editing.base;
      setFormState(kept.state);
      baseline = kept.editing.base;
      showRestored(kept);
    } else {
      restoredBox.hidden = true;
      if (fromServer) forget(target());
    }
    try { localStorage.setItem(STORE + "open", target()); } catch (e) { /* nothing kept */ }
    announceEditing(kind, data.id);
    schedulePreview();
    body.focus();
  }

  /* The primary action: Publish, or Schedule for the time in "Publish at" (an embargo) ----- */

  function futureTime() {
    var at = publishAt();
    return at && new Date(at).getTime() > Date.now() ? at : null;
  }
  function updatePrimary() {
    if (!isEditor || !primary || busy) return;
    var at = futureTime();
    primary.textContent = at ? "Schedule for " + shortTime(at) : "Publish";
    primary.setAttribute("data-action", at ? "schedule" : "publish");
    publishNowButton.hidden = !at;
    scheduleButton.hidden = !!at;
  }
  setInterval(updatePrimary, 15000); // a time that passes turns Schedule back into Publish
  form.elements.publish_at.addEventListener("input", updatePrimary);
  form.elements.publish_at.addEventListener("change", updatePrimary);

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
      if (mine !== previewSeq) return;
      preview.innerHTML = "";
      var p = document.createElement("p");
      p.className = "muted";
      p.textContent = err.message;
      preview.appendChild(p);
    });
  }
  form.addEventListener("input", function () { schedulePreview(); scheduleAutosave(); });
  form.addEventListener("change", function () { schedulePreview(); scheduleAutosave(); });

  /* Markdown toolbar and shortcuts */
  function changed() { schedulePreview(); scheduleAutosave(); }
  function insert(before, after, placeholder) {
    var start = body.selectionStart, end = body.selectionEnd;
    var selected = body.value.slice(start, end) || placeholder || "";
    body.setRangeText(before + selected + (after || ""), start, end, "end");
    if (!body.value.slice(start, end) || start === end) {
      body.setSelectionRange(start + before.length, start + before.length + selected.length);
    }
    body.focus();
    changed();
  }
  // [text](https://) with the URL selected, so typing or pasting replaces it at once.
  function insertLink() {
    var start = body.selectionStart, end = body.selectionEnd;
    var text = body.value.slice(start, end) || "link text";
    var url = "https://";
    body.setRangeText("[" + text + "](" + url + ")", start, end, "end");
    var urlStart = start + text.length + 3;
    body.setSelectionRange(urlStart, urlStart + url.length);
    body.focus();
    changed();
  }
  function insertBlock(text, prefix, select) {
    var start = body.selectionStart, end = body.selectionEnd, value = body.value;
    if (prefix && end > start) { markLines(prefix, start, end); return; }
    var lead = start > 0 && value[start - 1] !== "\n" ? (value[start - 2] === "\n" ? "\n" : "\n\n") : "";
    body.setRangeText(lead + text + "\n\n", start, end, "end");
    if (select) {
      var at = start + lead + text.indexOf(select);
      body.setSelectionRange(at, at + select.length);
    }
    body.focus();
    changed();
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
    changed();
  }
  function toggleBox(button, box) {
    var open = box.hidden;
    box.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) box.querySelector("input").focus();
  }
  function closeBox(box, name) {
    box.hidden = true;
    var button = form.querySelector('[data-md="' + name + '"]');
    button.setAttribute("aria-expanded", "false");
    button.focus();
  }
  form.querySelectorAll("[data-md]").forEach(function (button) {
    button.addEventListener("click", function () {
      switch (button.getAttribute("data-md")) {
        case "bold": insert("**", "**", "bold text"); break;
        case "italic": insert("*", "*", "italic text"); break;
        case "link": insertLink(); break;
        case "list": insertBlock("- First point\n- Second point", "- "); break;
        case "quote": insertBlock("> Quoted words\n> — Speaker's name", "> ", "Quoted words"); break;
        case "image": toggleBox(button, form.querySelector("[data-image-box]")); break;
        case "upload": openImageBox(null); imageFile.click(); break;
        case "embed": toggleBox(button, form.querySelector("[data-embed-box]")); break;
      }
    });
  });
  body.addEventListener("keydown", function (e) {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
    var key = e.key.toLowerCase();
    if (key === "b") { e.preventDefault(); insert("**", "**", "bold text"); }
    else if (key === "i") { e.preventDefault(); insert("*", "*", "italic text"); }
    else if (key === "k") { e.preventDefault(); insertLink(); }
  });
  /* Images: uploaded (picked, dropped or pasted) or by URL, with alt text, caption and credit */
  var imageBox = form.querySelector("[data-image-box]");
  var imageFile = imageBox.querySelector("[data-image-file]");
  var imageError = imageBox.querySelector("[data-image-error]");
  var pendingImage = null; // a dropped or pasted file, until it is inserted
  function openImageBox(file) {
    if (file) pendingImage = file;
    imageBox.hidden = false;
    form.querySelector('[data-md="image"]').setAttribute("aria-expanded", "true");
    show(imageError, file ? "Photo ready: " + (file.name || "pasted image") + ". Describe it, then insert it." : "");
    imageError.classList.toggle("field-error", !file);
    imageBox.querySelector(file ? "[data-image-alt]" : "input").focus();
  }
  function imageFiles(list) {
    return Array.prototype.filter.call(list || [], function (f) { return /^image\//.test(f.type) || /\.hei[cf]$/i.test(f.name || ""); });
  }
  imageFile.addEventListener("change", function () { pendingImage = imageFile.files[0] || null; });
  body.addEventListener("dragover", function (e) {
    if (e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0) e.preventDefault();
  });
  body.addEventListener("drop", function (e) {
    var files = imageFiles(e.dataTransfer && e.dataTransfer.files);
    if (!files.length) return;
    e.preventDefault();
    openImageBox(files[0]);
  });
  body.addEventListener("paste", function (e) {
    var files = imageFiles(e.clipboardData && e.clipboardData.files);
    if (!files.length) return; // text pastes as text
    e.preventDefault();
    openImageBox(files[0]);
  });
  // Markdown's image: ![alt](url "caption | credit"), its brackets and quotes escaped.
  function imageMarkdown(url, alt, caption, credit) {
    var title = credit ? caption + " | " + credit : caption; // " | Photo: X": a credit alone
    var escape = function (text, chars) { return text.replace(chars, function (c) { return "\\" + c; }); };
    return "![" + escape(alt, /[\[\]\\]/g) + "](" + url.replace(/[()\s]/g, encodeURIComponent) +
      (title ? ' "' + escape(title, /["\\]/g) + '"' : "") + ")";
  }
  function resetImageBox() {
    imageBox.querySelectorAll("input").forEach(function (i) { i.value = ""; });
    pendingImage = null;
    show(imageError, "");
    imageBox.hidden = true;
    form.querySelector('[data-md="image"]').setAttribute("aria-expanded", "false");
  }
  var imageInsert = imageBox.querySelector("[data-image-insert]");
  imageInsert.addEventListener("click", function () {
    var url = imageBox.querySelector("[data-image-url]").value.trim();
    var alt = imageBox.querySelector("[data-image-alt]").value.trim();
    var caption = imageBox.querySelector("[data-image-caption]").value.trim();
    var credit = imageBox.querySelector("[data-image-credit]").value.trim();
    imageError.classList.add("field-error");
    if (pendingImage) {
      if (!alt) {
        show(imageError, "Add alt text: say what the photo shows, for readers who cannot see it.");
        imageBox.querySelector("[data-image-alt]").focus();
        return;
      }
      var data = new FormData();
      data.append("file", pendingImage, pendingImage.name || "pasted-image");
      data.append("alt", alt);
      data.append("caption", caption);
      data.append("credit", credit);
      imageInsert.disabled = true;
      show(imageError, "");
      show(statusBox, "Uploading the photo…");
      fetch("/console/media", {
        method: "POST", credentials: "same-origin", body: data,
        headers: { "X-CSRF-Token": csrf, Accept: "application/json" }
      }).then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) throw new ProblemError(response.status, answer);
          return answer;
        }, function () { throw new ProblemError(response.status, null); });
      }, function () {
        throw new ProblemError(0, { detail: "The server could not be reached; try the upload again." });
      }).then(function (media) {
        show(statusBox, "");
        insertBlock(imageMarkdown(media.url, alt, caption, credit));
        resetImageBox();
      }, function (err) {
        show(statusBox, "");
        show(imageError, err.message);
      }).then(function () { imageInsert.disabled = false; });
      return;
    }
    if (!url) { show(imageError, "Choose a photo to upload, or give an image URL."); return; }
    var w = imageBox.querySelector("[data-image-width]").value, h = imageBox.querySelector("[data-image-height]").value;
    // An image hosted elsewhere keeps the older form: its text is the caption, a title its size.
    var size = w && h ? ' "' + w + "x" + h + '"' : "";
    var text = (caption || alt).replace(/[\[\]]/g, "");
    insertBlock("![" + text + "](" + url.replace(/[()\s]/g, encodeURIComponent) + size + ")");
    resetImageBox();
  });
  // A link's card: its page's title and picture, fetched now (once, by the server, never by
  // readers) and shown in the preview; the link goes in whether or not the page answered.
  var previewed = {};
  function fetchLinkPreview(url) {
    if (previewed[url]) return Promise.resolve();
    previewed[url] = true;
    show(statusBox, "Fetching the linked page's title…");
    return request("POST", "/console/link-previews", { url: url }).then(function () {
      show(statusBox, "");
      schedulePreview();
    }, function (err) {
      show(statusBox, "The card shows the link only: " + err.message);
    });
  }
  var BARE_URL = /^https?:\/\/\S+$/i;
  body.addEventListener("paste", function (e) {
    var text = e.clipboardData && e.clipboardData.getData("text/plain").trim();
    if (text && BARE_URL.test(text)) setTimeout(function () { fetchLinkPreview(text); }, 0);
  });
  form.querySelector("[data-embed-insert]").addEventListener("click", function () {
    var box = form.querySelector("[data-embed-box]");
    var url = box.querySelector("[data-embed-url]").value.trim();
    if (!url) return;
    insertBlock(url);
    box.querySelector("input").value = "";
    box.hidden = true;
    form.querySelector('[data-md="embed"]').setAttribute("aria-expanded", "false");
    if (BARE_URL.test(url)) fetchLinkPreview(url);
  });

  /* Actions */
  var BUSY_LABELS = { publish: "Publishing…", "publish-now": "Publishing…", "publish-anyway": "Publishing…", schedule: "Scheduling…", draft: "Saving…", review: "Submitting…", save: "Saving…", "submit-edit": "Submitting…" };
  function setBusy(action, button) {
    busy = !!action;
    form.querySelectorAll("[data-action]").forEach(function (b) { b.disabled = busy; });
    if (action && button) {
      button.setAttribute("data-label", button.textContent);
      button.textContent = BUSY_LABELS[action] || "Working…";
      button.setAttribute("aria-busy", "true");
    } else {
      form.querySelectorAll('[aria-busy="true"]').forEach(function (b) {
        b.textContent = b.getAttribute("data-label") || b.textContent;
        b.removeAttribute("aria-busy");
      });
      updatePrimary();
    }
  }
  function primaryAction() {
    if (editing) return "save";
    return primary ? primary.getAttribute("data-action") : "draft";
  }
  function buttonFor(action) {
    if (editing) return form.querySelector('[data-edit-actions] [data-action="' + action + '"]');
    if (primary && primary.getAttribute("data-action") === action) return primary;
    if (action === "publish-anyway") return primary;
    return form.querySelector('[data-new-actions] [data-action="' + action + '"]');
  }

  // The form as a new, empty entry would hold it: what "unsaved" compares a new entry with.
  function blankState() {
    return { title: "", source: "", author: authorDefault, key_event: false, pinned: false, correction: "", publish_at: "" };
  }
  // Keep the form's words, as a new entry: after a publish that the journalist typed past, or
  // to publish an edit whose entry was deleted meanwhile.
  function asNewEntry() {
    announceEditing(null);
    editing = null;
    publishKey = newKey();
    baseline = blankState();
    form.elements.correction.value = "";
    form.querySelector("[data-correction-field]").hidden = true;
    form.querySelector("[data-publish-at-field]").hidden = !isEditor;
    form.querySelector("[data-new-actions]").hidden = false;
    form.querySelector("[data-edit-actions]").hidden = true;
    heading.textContent = "New entry";
    updatePrimary();
    scheduleAutosave();
  }

  // After a write of what the form held when it was pressed (`sent`, for `sentTarget`): the form
  // empties only if it still holds exactly that. Words typed while the server answered stay: a
  // new entry's as the next new entry, an edit's as the same edit, now based on what was saved.
  // If the journalist has since opened something else, the form is left alone.
  function settle(write, message, saved) {
    forget(write.target);
    if (target() !== write.target) { notify(message); return; }
    if (same(formState(), write.sent)) {
      resetForm(write.target === "new");
      notify(message);
      return;
    }
    if (write.target === "new" || !saved) {
      asNewEntry();
    } else {
      editing.version = saved.version;
      editing.base = valuesOf(saved);
      baseline = editing.base;
      scheduleAutosave();
    }
    notify(message + " What you typed since is still in the form" + (editing ? ", not saved yet." : "."));
  }

  function run(action) {
    if (busy) return; // one write at a time; the Idempotency-Key covers what slips through
    if (action === "cancel") { cancelEdit(); return; }
    var data = fields();
    var write = { sent: formState(), target: target(), thenSubmit: action === "submit-edit" };
    var done;
    if (!data.source.trim()) {
      // The second press of a double press (Ctrl+Enter twice, a double click) lands on the form
      // the first one emptied: nothing to tell, "Published." stays.
      if (Date.now() - emptiedAt < 1000) return;
      clearMessages();
      fail(new ProblemError(422, { detail: "Write the entry's body first.", errors: [{ field: "source", message: "Write the entry's body first." }] }));
      return;
    }
    if (action === "publish" && publishAt() && !futureTime()) {
      // A time was set and has passed: say so before publishing now.
      pastConfirm.hidden = false;
      pastConfirm.querySelector("[data-past-yes]").focus();
      return;
    }
    if (action === "publish" && futureTime()) action = "schedule"; // the embargo holds
    pastConfirm.hidden = true;
    clearMessages();
    setBusy(action, buttonFor(action));
    if (action === "publish" || action === "publish-now" || action === "publish-anyway") {
      // "Publish now" publishes whatever the time says; the server refuses a time ahead.
      data.publish_at = action === "publish" ? publishAt() : null;
      done = request("POST", base + "/entries", data, { "Idempotency-Key": publishKey })
        .then(function () { settle(write, "Published."); }, function (err) {
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
        setBusy(null);
        fail(new ProblemError(422, { detail: "Pick the date and time to publish at.", errors: [{ field: "publish_at", message: "Pick the date and time to publish at." }] }));
        return;
      }
      done = request("POST", base + "/drafts", data).then(function () {
        settle(write, state === "scheduled" ? "Scheduled for " + shortTime(data.publish_at) + "." : state === "review" ? "Submitted for review." : "Draft saved.");
      });
    } else if (action === "save" || action === "submit-edit") {
      done = save(editing, data, editing.version, write);
    }
    finish(done);
  }
  function finish(done) {
    done.catch(fail).then(function () { setBusy(null); refreshItems(); });
  }

  function entryUrl(t) { return base + (t.kind === "entry" ? "/entries/" : "/drafts/") + t.id; }

  // Save `data` over version `version` of `t` (the entry or draft the write began on).
  function save(t, data, version, write) {
    var url = entryUrl(t);
    if (t.kind === "entry" && data.correction === undefined) data.correction = form.elements.correction.value.trim() || null;
    if (t.kind === "draft" && t.state === "scheduled" && data.publish_at === undefined) data.publish_at = publishAt();
    return request("PATCH", url, data, { "If-Match": '"' + version + '"' }).then(function (saved) {
      if (!write.thenSubmit) { settle(write, "Saved.", saved); return; }
      return request("POST", url + "/submit", {}).then(function (submitted) { settle(write, "Submitted for review.", submitted); });
    }, function (err) {
      if (err.status !== 412 && err.status !== 409 && err.status !== 410) throw err;
      // Ask for the current version as it was written (Markdown), to merge with, falling back on
      // the 412's copy; a deleted entry answers 410, naming who deleted it.
      var fallback = err.status === 412 ? Object.assign({}, err.body.current, { version: err.body.current_version }) : null;
      return request("GET", url).then(function (current) {
        if (err.status !== 412 && !current.deleted) throw err;
        return merge(t, data, current, write);
      }, function (getErr) {
        if (getErr.status === 410 || getErr.status === 404) return openDeleted(t, getErr.body);
        if (fallback) return merge(t, data, fallback, write);
        throw err;
      });
    });
  }

  /* Conflicts: a three-way merge from the version the form started at. Fields only the other
     editor changed are taken; fields only I changed are kept; fields both changed differently
     are shown side by side. Nothing is overwritten unseen. */
  var FIELD_NAMES = { title: "Title", source: "Body", author: "Author", pinned: "Pinned", key_event: "Key event", correction: "Correction note", publish_at: "Publish at" };
  function comparable(v) { return typeof v === "boolean" ? v : (v == null ? "" : String(v).trim()); }
  function scheduled(t) { return t.kind === "draft" && t.state === "scheduled"; }
  // The fields a write of `t` sends, as the form writes them (publish_at: the local input's).
  function mineValues(t, data) {
    var v = {
      title: data.title || "", source: data.source, author: data.author || "",
      pinned: !!data.pinned, key_event: !!data.key_event
    };
    if (t.kind === "entry") v.correction = data.correction || "";
    if (scheduled(t)) v.publish_at = toLocalInput(data.publish_at);
    return v;
  }
  function sendable(t, values) {
    var out = {
      title: comparable(values.title) || null, source: values.source, author: comparable(values.author) || null,
      pinned: !!values.pinned, key_event: !!values.key_event
    };
    if (t.kind === "entry") out.correction = comparable(values.correction) || null;
    if (scheduled(t)) {
      var when = values.publish_at ? new Date(values.publish_at) : null;
      out.publish_at = when && !isNaN(when) ? when.toISOString() : null;
    }
    return out;
  }
  function describe(name, value) {
    if (typeof value === "boolean") return value ? "Yes" : "No";
    if (name === "publish_at" && value) return shortTime(new Date(value).toISOString());
    return comparable(value) || "(empty)";
  }

  var pending = null;
  function merge(t, data, current, write) {
    var theirs = valuesOf(current);
    var mine = mineValues(t, data);
    var start = t.base || theirs;
    var merged = {}, taken = [], both = [];
    Object.keys(mine).forEach(function (name) {
      var m = comparable(mine[name]), b = comparable(start[name]), th = comparable(theirs[name]);
      if (m === b) { merged[name] = theirs[name]; if (th !== b) taken.push(FIELD_NAMES[name]); }
      else if (th === b || th === m) merged[name] = mine[name];
      else both.push(name);
    });
    var who = (current.updated_by && current.updated_by.name) || "someone";
    // Neutral about who: a field may have been changed meanwhile by this same journalist
    // (a Pin pressed in the list while the form was open).
    var mergedNote = taken.length ? "What was changed meanwhile is kept: " + taken.join(", ") + "." : "";
    t.base = theirs;
    if (!both.length) {
      // Nothing to choose: save mine over theirs, with their changes in.
      return save(t, sendable(t, merged), current.version, write).then(function () {
        if (mergedNote && target() === "new") notify("Saved. " + mergedNote);
      });
    }
    var keepMine = Object.assign({}, merged), takeTheirs = Object.assign({}, merged);
    both.forEach(function (name) { keepMine[name] = mine[name]; takeTheirs[name] = theirs[name]; });
    openConflict({ target: t, write: write, current: current, theirs: theirs, mine: mine, both: both, keepMine: keepMine, takeTheirs: takeTheirs, who: who, mergedNote: mergedNote });
  }
  function openConflict(p) {
    pending = p;
    conflict.querySelector("[data-conflict-who]").textContent = p.who;
    conflict.querySelector("[data-conflict-merged]").textContent = p.mergedNote;
    var box = conflict.querySelector("[data-conflict-fields]");
    box.textContent = "";
    p.both.forEach(function (name) {
      var group = document.createElement("section");
      group.className = "conflict__field";
      var h = document.createElement("h3");
      h.textContent = FIELD_NAMES[name];
      var sides = document.createElement("div");
      sides.className = "conflict__sides";
      [["Theirs", p.theirs[name]], ["Yours", p.mine[name]]].forEach(function (side) {
        var col = document.createElement("div");
        var label = document.createElement("h4");
        label.textContent = side[0];
        var text = document.createElement("div");
        text.className = "conflict__text";
        text.textContent = describe(name, side[1]);
        col.appendChild(label);
        col.appendChild(text);
        sides.appendChild(col);
      });
      group.appendChild(h);
      group.appendChild(sides);
      box.appendChild(group);
    });
    conflict.hidden = false;
    conflict.querySelector("[data-conflict-keep]").focus();
  }
  function closePanels() {
    pending = null;
    orphan = null;
    conflict.hidden = true;
    deletedPanel.hidden = true;
  }
  conflict.querySelector("[data-conflict-keep]").addEventListener("click", function () {
    if (!pending || busy) return;
    var p = pending;
    closePanels();
    body.focus(); // the focused button is gone: back to the text
    setBusy("save", form.querySelector('[data-edit-actions] [data-action="save"]'));
    finish(save(p.target, sendable(p.target, p.keepMine), p.current.version, p.write));
  });
  conflict.querySelector("[data-conflict-take]").addEventListener("click", function () {
    if (!pending) return;
    var p = pending;
    closePanels();
    var mineText = (p.mine.title ? p.mine.title + "\n\n" : "") + p.mine.source;
    fill(p.target.kind, Object.assign({}, p.current, sendable(p.target, p.takeTheirs)), true);
    editing.base = p.theirs;
    baseline = valuesOf(p.current);
    scheduleAutosave();
    // Yours stays on the page to copy from, until this form is saved or cancelled.
    discardedText.textContent = mineText;
    discarded.hidden = false;
    notify("Loaded their version. Yours is below the form until you save or cancel.");
  });

  /* Deleted while I edited: say who and when; the words can still go out as a new entry. */
  var orphan = null;
  function openDeleted(t, problemBody) {
    var by = problemBody && problemBody.deleted_by && problemBody.deleted_by.name;
    var at = problemBody && problemBody.deleted_at;
    deletedPanel.querySelector("[data-deleted-text]").textContent =
      (t.kind === "draft" ? "Published or deleted" : "Deleted") + (by ? " by " + by : "") +
      (at ? " at " + shortTime(at) : "") + ", while you were editing it.";
    orphan = t;
    deletedPanel.hidden = false;
    deletedPanel.querySelector("[data-deleted-republish]").focus();
  }
  deletedPanel.querySelector("[data-deleted-republish]").addEventListener("click", function () {
    if (!orphan || busy) return;
    var t = orphan;
    closePanels();
    forget(t.kind + ":" + t.id);
    asNewEntry(); // the form's words as they are now, a new entry from here on
    if (!isEditor) { notify("Your words are in the form as a new entry: submit them for review."); return; }
    run("publish-now");
  });
  deletedPanel.querySelector("[data-deleted-discard]").addEventListener("click", function () {
    var t = orphan;
    closePanels();
    if (t) forget(t.kind + ":" + t.id);
    resetForm();
    notify("Discarded.");
  });

  /* Cancel, Escape, leaving: nothing typed goes without asking */
  function cancelEdit() {
    if (editing && dirty()) {
      cancelConfirm.hidden = false;
      cancelConfirm.querySelector("[data-cancel-no]").focus();
      return;
    }
    if (editing) forget(target());
    resetForm();
  }
  cancelConfirm.querySelector("[data-cancel-yes]").addEventListener("click", function () {
    forget(target());
    resetForm();
    body.focus();
  });
  cancelConfirm.querySelector("[data-cancel-no]").addEventListener("click", function () {
    cancelConfirm.hidden = true;
    body.focus();
  });
  pastConfirm.querySelector("[data-past-yes]").addEventListener("click", function () {
    pastConfirm.hidden = true;
    run("publish-anyway");
  });
  pastConfirm.querySelector("[data-past-no]").addEventListener("click", function () {
    pastConfirm.hidden = true;
    form.elements.publish_at.focus();
  });
  var leaving = false; // a navigation the console makes itself (signed out): the form is kept
  window.addEventListener("beforeunload", function (e) {
    if (leaving) return;
    if (dirty()) autosave();
    if (dirty() || busy) { e.preventDefault(); e.returnValue = ""; }
  });

  form.addEventListener("submit", function (e) { e.preventDefault(); run(primaryAction()); });
  form.querySelectorAll("[data-action]").forEach(function (button) {
    if (button.type === "submit") return;
    button.addEventListener("click", function () { run(button.getAttribute("data-action")); });
  });
  form.addEventListener("keydown", function (e) {
    if (e.key !== "Enter") return;
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      run(primaryAction());
    } else if (e.target.tagName === "INPUT") {
      e.preventDefault(); // Enter in the title is the end of a line, not a publish
    }
  });
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === "s") {
      e.preventDefault(); // the browser's "Save page" is never what a journalist means here
      if (editing && editing.kind === "entry") {
        // A published entry has no draft: saving would publish the change. Keep it here.
        clearTimeout(autosaveTimer);
        autosave();
        notify("Kept in this browser. Save publishes your change to readers.");
        return;
      }
      run(editing ? "save" : "draft");
      return;
    }
    if (e.key !== "Escape" || e.defaultPrevented) return;
    var imageBox = form.querySelector("[data-image-box]"), embedBox = form.querySelector("[data-embed-box]");
    if (!imageBox.hidden) { e.preventDefault(); closeBox(imageBox, "image"); }
    else if (!embedBox.hidden) { e.preventDefault(); closeBox(embedBox, "embed"); }
    else if (!pastConfirm.hidden) { pastConfirm.hidden = true; }
    else if (!cancelConfirm.hidden) { cancelConfirm.hidden = true; body.focus(); }
    else if (editing && form.contains(document.activeElement)) { e.preventDefault(); cancelEdit(); }
  });

  /* The list: actions by delegation, reloaded whenever anything changes anywhere */
  items.addEventListener("click", function (e) {
    var button = e.target.closest("button");
    if (button && button.hasAttribute("data-load-older")) { loadOlder(button); return; }
    var item = button && button.closest("article[data-kind]");
    if (!item) return;
    var kind = item.getAttribute("data-kind"), id = item.getAttribute("data-id");
    var version = item.getAttribute("data-version");
    var url = base + (kind === "entry" ? "/entries/" : "/drafts/") + id;
    var act = function (p) { return p.then(function () { show(errorBox, ""); refreshItems(); }, fail); };
    var ifMatch = { "If-Match": '"' + version + '"' };
    // A toggle answers once per press: disabled until its change is in, and a press that
    // raced another editor's (412) just shows where things are now.
    var toggle = function (change) {
      button.disabled = true;
      request("POST", url + "/flags", change, ifMatch).then(function () { show(errorBox, ""); refreshItems(); }, function (err) {
        if (err.status === 412) refreshItems(); else { button.disabled = false; fail(err); }
      });
    };
    if (button.hasAttribute("data-edit")) {
      if (busy) return; // the form is being written: what it holds stays until the server answers
      clearTimeout(autosaveTimer);
      if (dirty()) autosave(); // the words typed just now go with the entry they belong to
      request("GET", url).then(function (data) { if (!busy) fill(kind, data); }, fail);
    } else if (button.hasAttribute("data-pin")) {
      toggle({ pinned: item.getAttribute("data-pinned") !== "true" });
    } else if (button.hasAttribute("data-key")) {
      toggle({ key_event: item.getAttribute("data-key-event") !== "true" });
    } else if (button.hasAttribute("data-delete")) {
      item.querySelector("[data-confirm]").hidden = false;
      item.querySelector("[data-confirm-delete]").focus();
    } else if (button.hasAttribute("data-cancel-delete")) {
      item.querySelector("[data-confirm]").hidden = true;
    } else if (button.hasAttribute("data-confirm-delete")) {
      act(request("DELETE", url, undefined, kind === "entry" ? ifMatch : {}).then(function () {
        // Deleted the one the form holds: its edit goes with it, once the server agrees.
        if (!busy && editing && editing.kind === kind && String(editing.id) === id) { forget(target()); resetForm(); }
      }));
    } else if (button.hasAttribute("data-publish-draft")) {
      // If-Match: the version this editor reviewed; a contributor's later change is not
      // published unseen (412, and the list reloads to show it).
      act(request("POST", url + "/publish", {}, {
        "Idempotency-Key": "draft-" + id + "-" + version, "If-Match": '"' + version + '"'
      }));
    } else if (button.hasAttribute("data-return")) {
      var box = item.querySelector("[data-return-box]");
      box.hidden = false;
      button.setAttribute("aria-expanded", "true");
      box.querySelector("[data-return-note]").focus();
    } else if (button.hasAttribute("data-return-cancel")) {
      item.querySelector("[data-return-box]").hidden = true;
      item.querySelector("[data-return]").setAttribute("aria-expanded", "false");
    } else if (button.hasAttribute("data-return-confirm")) {
      var note = item.querySelector("[data-return-note]").value.trim() || null;
      act(request("POST", url + "/return", { note: note }));
    } else if (button.hasAttribute("data-submit")) {
      act(request("POST", url + "/submit", {}));
    } else if (button.hasAttribute("data-unschedule")) {
      act(request("POST", url + "/unschedule", {}));
    }
  });

  /* Search and paging: the published list shows the newest entries, or a search's matches,
     as far back as "Load older" went; a refresh keeps both. */
  var search = workspace.querySelector("[data-search]");
  var query = "";
  function listUrl(extra) {
    var params = new URLSearchParams(extra || {});
    if (query) params.set("q", query);
    return base + "/items?" + params.toString();
  }
  function shownCount() { return items.querySelectorAll('[data-published] article[data-kind="entry"]').length; }
  var searchTimer = null;
  search.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(searchTimer); runSearch(); });
  search.elements.q.addEventListener("input", function () { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 300); });
  function runSearch() {
    var q = search.elements.q.value.trim();
    if (q === query) return;
    query = q;
    refreshItems(true);
  }
  function loadOlder(button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    var holder = button.closest("[data-older]");
    fetchHtml(listUrl({ before: button.getAttribute("data-before") })).then(function (html) {
      if (html == null) { button.disabled = false; button.removeAttribute("aria-busy"); return; }
      var first = holder.previousElementSibling;
      var fragment = document.createRange().createContextualFragment(html);
      var firstNew = fragment.querySelector("article");
      holder.replaceWith(fragment);
      localTimes(items);
      decorate();
      // Keyboard users go on from the first entry that arrived, not from the page's top.
      var link = firstNew && firstNew.querySelector("button");
      if (link) link.focus(); else if (first) first.focus();
    }, function () { button.disabled = false; button.removeAttribute("aria-busy"); });
  }
  function fetchHtml(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 303 || r.redirected) { location.assign("/console"); return null; }
      if (!r.ok) return r.json().then(function (p) { throw new ProblemError(r.status, p); }, function () { throw new ProblemError(r.status, null); });
      return r.text();
    });
  }

  // Where the journalist was in the list: the focused control, and the first entry in view
  // with its place on screen, so that a live refresh moves neither.
  function listPosition() {
    var active = document.activeElement;
    var focus = null;
    if (active && items.contains(active)) {
      var article = active.closest("article[data-kind]");
      var attrs = ["data-edit", "data-pin", "data-key", "data-delete", "data-confirm-delete", "data-cancel-delete", "data-publish-draft", "data-return", "data-return-note", "data-submit", "data-unschedule", "data-load-older"];
      var which = attrs.filter(function (a) { return active.hasAttribute(a); })[0];
      focus = { kind: article && article.getAttribute("data-kind"), id: article && article.getAttribute("data-id"), attr: which, value: active.value };
    }
    // Only a card in view anchors (and only once the page is scrolled): a list beside or below
    // the form must not move the form while someone types.
    var anchor = null;
    var articles = window.scrollY > 0 ? items.querySelectorAll("article[data-kind]") : [];
    for (var i = 0; i < articles.length; i++) {
      var top = articles[i].getBoundingClientRect().top;
      if (top >= 0 && top < window.innerHeight) { anchor = { kind: articles[i].getAttribute("data-kind"), id: articles[i].getAttribute("data-id"), top: top }; break; }
      if (top >= window.innerHeight) break;
    }
    var open = {};
    items.querySelectorAll("[data-confirm]:not([hidden]), [data-return-box]:not([hidden])").forEach(function (el) {
      var a = el.closest("article");
      open[a.getAttribute("data-kind") + a.getAttribute("data-id") + (el.hasAttribute("data-confirm") ? "confirm" : "return")] = el.querySelector("[data-return-note]") ? el.querySelector("[data-return-note]").value : true;
    });
    return { focus: focus, anchor: anchor, open: open };
  }
  function findArticle(kind, id) { return items.querySelector('article[data-kind="' + kind + '"][data-id="' + id + '"]'); }
  function restorePosition(at) {
    Object.keys(at.open).forEach(function (key) {
      var m = /^(entry|draft)(\d+)(confirm|return)$/.exec(key);
      var a = m && findArticle(m[1], m[2]);
      var el = a && a.querySelector(m[3] === "confirm" ? "[data-confirm]" : "[data-return-box]");
      if (!el) return;
      el.hidden = false;
      var note = el.querySelector("[data-return-note]");
      if (note && typeof at.open[key] === "string") note.value = at.open[key];
    });
    if (at.anchor) {
      var a = findArticle(at.anchor.kind, at.anchor.id);
      if (a) window.scrollBy(0, a.getBoundingClientRect().top - at.anchor.top);
    }
    if (at.focus) {
      var art = at.focus.kind && findArticle(at.focus.kind, at.focus.id);
      var target = art && at.focus.attr ? art.querySelector("[" + at.focus.attr + "]") : null;
      if (!target && at.focus.attr === "data-load-older") target = items.querySelector("[data-load-older]");
      if (target) target.focus({ preventScroll: true });
    }
  }

  var refreshTimer = null;
  var listSeq = 0; // only the latest request's answer is shown (a search typed on, say)
  function refreshItems(now) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      var shown = shownCount();
      var mine = ++listSeq;
      fetchHtml(listUrl(shown > 50 ? { shown: String(shown) } : null)).then(function (html) {
        if (html == null || mine !== listSeq) return;
        var at = listPosition();
        items.innerHTML = html;
        localTimes(items);
        decorate();
        followLiveblog();
        restorePosition(at);
      }, function (err) {
        if (err.body && err.body.errors) show(errorBox, err.message);
      });
    }, now === true ? 0 : 100);
  }

  /* Presence and delivery receipts, from the console socket: drawn into each entry's card
     (again after every refresh of the list). */
  var editors = []; // [{entry, user, name}]
  var receipts = {}; // entry id → {seq, readers, p99_ms}
  function milliseconds(ms) { return ms < 10 ? ms.toFixed(1) : String(Math.round(ms)); }
  function decorate() {
    items.querySelectorAll("article[data-kind]").forEach(function (article) {
      var kind = article.getAttribute("data-kind");
      var id = Number(article.getAttribute("data-id"));
      var names = editors.filter(function (e) { return e[kind] === id && String(e.user) !== userId; })
        .map(function (e) { return e.name; })
        .filter(function (name, i, all) { return all.indexOf(name) === i; }); // two tabs, one person
      show(article.querySelector("[data-presence]"), names.length ? names.join(" and ") + (names.length > 1 ? " are editing" : " is editing") : "");
      var r = kind === "entry" && receipts[id];
      show(article.querySelector("[data-receipt]"), r ? "Delivered to " + r.readers + " reader" + (r.readers === 1 ? "" : "s") + (r.p99_ms != null ? " · p99 " + milliseconds(r.p99_ms) + " ms" : "") : "");
    });
  }

  /* Liveblog: title and description, end and reopen. The header follows the liveblog whoever
     changed it: each answer here, and the state every refresh of the list carries. */
  var statusBadge = workspace.querySelector("[data-status]");
  var endedNotice = workspace.querySelector("[data-ended-notice]");
  function applyLiveblog(liveblog) {
    var ended = liveblog.status === "ended";
    workspace.setAttribute("data-liveblog-version", String(liveblog.version));
    workspace.setAttribute("data-liveblog-status", liveblog.status);
    workspace.querySelector("[data-liveblog-title]").textContent = liveblog.title;
    document.title = liveblog.title + " · Liveblog console";
    statusBadge.textContent = ended ? "Ended" : "Live";
    statusBadge.className = "status status--" + liveblog.status;
    if (endedNotice) endedNotice.hidden = !ended;
    var endBoxNow = workspace.querySelector("[data-end-box]"), reopenNow = workspace.querySelector("[data-reopen]");
    if (endBoxNow) endBoxNow.hidden = ended;
    if (reopenNow) reopenNow.hidden = !ended;
  }
  function followLiveblog() {
    var state = items.querySelector("[data-liveblog-state]");
    if (!state || state.getAttribute("data-state-version") === workspace.getAttribute("data-liveblog-version")) return;
    applyLiveblog({ title: state.getAttribute("data-state-title"), status: state.getAttribute("data-state-status"), version: Number(state.getAttribute("data-state-version")) });
  }

  var settings = workspace.querySelector("[data-settings]");
  var settingsOpen = workspace.querySelector("[data-settings-open]");
  if (settings && settingsOpen) {
    settingsOpen.addEventListener("click", function () {
      settings.hidden = !settings.hidden;
      settingsOpen.setAttribute("aria-expanded", String(!settings.hidden));
      if (!settings.hidden) settings.elements.title.focus();
    });
    settings.querySelector("[data-settings-cancel]").addEventListener("click", function () {
      settings.hidden = true;
      settingsOpen.setAttribute("aria-expanded", "false");
      settingsOpen.focus();
    });
    settings.addEventListener("submit", function (e) {
      e.preventDefault();
      var error = settings.querySelector("[data-settings-error]");
      show(error, "");
      var version = workspace.getAttribute("data-liveblog-version");
      request("PATCH", base, { title: settings.elements.title.value, description: settings.elements.description.value }, { "If-Match": '"' + version + '"' })
        .then(function (liveblog) {
          applyLiveblog(liveblog);
          settings.hidden = true;
          settingsOpen.setAttribute("aria-expanded", "false");
          settingsOpen.focus();
          notify("Title and description saved.");
        }, function (err) {
          show(error, err.status === 412
            ? "Someone else changed this liveblog's title or description meanwhile. Reload the page to see theirs, then edit again."
            : err.message);
        });
    });
  }
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
      request("POST", base + "/end", {}, { "If-Match": "*" }).then(function (liveblog) {
        endBox.querySelector("[data-end-confirm]").hidden = true;
        applyLiveblog(liveblog);
        notify("Ended: readers see the liveblog as over.");
      }, fail);
    });
  }
  var reopen = workspace.querySelector("[data-reopen]");
  if (reopen) {
    reopen.addEventListener("click", function () {
      request("POST", base + "/reopen", {}, { "If-Match": "*" }).then(function (liveblog) {
        applyLiveblog(liveblog);
        notify("Reopened: readers see it live again.");
      }, fail);
    });
  }

  /* The console's socket: list changes, the readers count, presence, receipts */
  var readers = workspace.querySelector("[data-readers]");
  var conn = workspace.querySelector("[data-conn]");
  var retry = 0;
  var socket = null;
  // What this console has open in the form, told to the other consoles ("Ed is editing").
  var editingNow = { entry: null };
  function announceEditing(kind, id) {
    var message = { type: "editing" };
    message[kind === "draft" ? "draft" : "entry"] = kind && id != null ? id : null;
    if (same(message, Object.assign({ type: "editing" }, editingNow))) return;
    editingNow = Object.assign({}, message);
    delete editingNow.type;
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + base + "/socket");
    socket.onopen = function () {
      if (retry > 0) refreshItems(); // anything may have changed while away
      retry = 0;
      conn.textContent = "Connected"; // to the console's news, whatever the liveblog's status
      conn.setAttribute("data-state", "live");
      if (socket.readyState === WebSocket.OPEN && (editingNow.entry || editingNow.draft)) {
        socket.send(JSON.stringify(Object.assign({ type: "editing" }, editingNow)));
      }
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "changed") refreshItems();
      else if (data.type === "readers") readers.textContent = String(data.count);
      else if (data.type === "editors") { editors = data.editing || []; decorate(); }
      else if (data.type === "receipts") {
        // Each entry's latest seq wins: an edit has a receipt of its own, and reports from
        // several processes may arrive out of order.
        (data.receipts || []).forEach(function (r) {
          var had = receipts[r.entry];
          if (!had || had.seq <= r.seq) receipts[r.entry] = r;
        });
        decorate();
      }
    };
    socket.onclose = function (e) {
      socket = null;
      conn.setAttribute("data-state", "offline");
      if (e.code === 4401 || e.code === 4403) {
        conn.textContent = "Signed out";
        clearTimeout(autosaveTimer);
        if (dirty()) autosave(); // kept in this browser: signing in again restores it
        leaving = true;
        location.assign("/console");
        return;
      }
      conn.textContent = "Reconnecting…";
      retry += 1;
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retry - 1)) * (0.5 + Math.random() / 2));
    };
  }

  /* Start: the form as this browser left it, if it kept unsaved work */
  (function restore() {
    var open = null;
    try { open = localStorage.getItem(STORE + "open"); } catch (e) { /* storage off */ }
    var m = open && /^(entry|draft):(\d+)$/.exec(open);
    var kept = m ? readSaved(open) : null;
    resetForm();
    if (kept && kept.editing) {
      var k = kept.editing.kind, id = kept.editing.id;
      request("GET", entryUrl({ kind: k, id: id })).then(function (data) { fill(k, data); }, function (err) {
        if (err.status === 410 || err.status === 404) {
          // Gone while this browser was away: keep the words, as a new entry, and say why
          // (a draft may have been published meanwhile: publishing it again would repeat it).
          forget(open);
          setFormState(kept.state);
          showRestored({ savedAt: kept.savedAt, editing: null }, k === "draft"
            ? "The draft you were editing has since been published or deleted: check the list before publishing this."
            : "The entry you were editing has since been deleted: this would be a new entry.");
          scheduleAutosave();
          schedulePreview();
        }
      });
    }
  })();
  connect();
})();
