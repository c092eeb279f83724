// Canned responses in the agent console: the picker in the composer (the site's shared set
// and the agent's own, "mine"), the filling of their variables, and the "My canned
// responses" dialog where agents keep their own. agent.js wires them.
// User text only ever reaches the page as text nodes.
"use strict";

window.AgentCanned = (() => {
  const { el } = window.ChatCommon;
  const { user } = window.ConsoleKit;
  const { t } = window.I18n;

  const csrf = () => (document.querySelector('input[name="csrf_token"]') || {}).value || "";

  async function call(method, url, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, credentials: "same-origin", headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(`${response.status}`), { body: data });
    return data;
  }

  // What a shortcut is compared as (chatserver/core/canned.py shortcut_key, core/text.py):
  // the same word typed on a Persian or an Arabic keyboard, Persian, Arabic-Indic or ASCII
  // digits, in any case.
  const FOLD = {
    "\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0629": "\u0647",
  };
  function fold(text) {
    return text.normalize("NFC")
      .replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
      .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660))
      .replace(/[\u064a\u0649\u0643\u0629]/g, (c) => FOLD[c])
      .replace(/[\u0640\u200c\u200d\u064b-\u065f]/g, "")
      .toLowerCase()
      .normalize("NFC");
  }

  // {name}, {agent} and {site} become the visitor's, the sending agent's and the site's
  // names; {name|friend} uses "friend" when the value is unknown; without a fallback an
  // unknown value goes with the space before it ("Hi {name}," -> "Hi,"). The server refuses
  // any other braces when the text is saved (chatserver/core/canned.py).
  function fillPlaceholders(text, names) {
    const values = { name: names.visitor, agent: names.agent, site: names.site };
    return text.replace(/(\s?)\{(name|agent|site)(?:\|([^{}]*))?\}/g, (whole, space, variable, fallback) => {
      const value = values[variable];
      if (value) return space + value;
      if (fallback !== undefined) return space + fallback;
      return "";
    });
  }

  // The picker's order (core/canned.py by_usage): the most used shortcuts first, then by
  // shortcut, the agent's own entry before the shared one of the same shortcut.
  function ordered(items) {
    const busiest = new Map();
    for (const item of items) busiest.set(item.shortcut, Math.max(busiest.get(item.shortcut) || 0, item.uses || 0));
    return [...items].sort((a, b) => (busiest.get(b.shortcut) - busiest.get(a.shortcut))
      || (a.shortcut < b.shortcut ? -1 : a.shortcut > b.shortcut ? 1 : 0)
      || ((a.scope === "personal" ? 0 : 1) - (b.scope === "personal" ? 0 : 1)));
  }

  // --- the picker ---------------------------------------------------------------------------
  // Typing "/" then a shortcut at the caret opens the picker; ↑/↓ move, Enter or Tab insert,
  // Escape closes. An entry with a file (a paperclip and its name in the list) attaches it to
  // the next reply: shown above the composer, removable, and taken by the reply (takeFile),
  // which sends a copy of it (agent-files.js). Each insertion is counted on the server.
  function createCanned({ textarea, list, onInsert, names = () => ({}) }) {
    let items = [];
    let fetchedAt = 0;
    let matches = [];
    let active = 0;
    let attached = null; // {shortcut, file: {name, type, size}}
    const chip = el("p", { className: "hint canned-attachment", testid: "canned-attachment", hidden: true });
    (list.closest(".composer-row") || list).before(chip);

    // agent-files.js loads after this file: looked up when first drawn.
    const describe = (file) => `${window.AgentFiles.kindOf(file)} · ${window.AgentFiles.sizeText(file.size)}`;
    const clip = () => window.AgentFiles.clipIcon(14);

    // The attachment lasts while the composer has text (the agent may edit the canned text);
    // an emptied composer or a switch to another chat drops it.
    function sync() {
      if (attached && !textarea.value.trim()) attached = null;
      if (!attached) { chip.hidden = true; chip.replaceChildren(); return; }
      const remove = el("button", { type: "button", className: "button small", testid: "canned-attachment-remove" }, t("console.remove"));
      remove.addEventListener("click", () => { attached = null; sync(); textarea.focus(); });
      chip.replaceChildren(clip(), ` ${t("console.sent_with_reply")} `, user(el("bdi", { dir: "auto", className: "file-name", testid: "canned-attachment-name" }, attached.file.name)),
        " ", el("span", { className: "file-meta" }, describe(attached.file)), " ", remove);
      chip.hidden = false;
    }

    // Read again after 30 s; what was read before serves meanwhile (only the first read is
    // waited for), so a reply typed quickly never waits on the list.
    let loaded = null;
    function refresh() {
      if (Date.now() - fetchedAt >= 30000) {
        fetchedAt = Date.now();
        const first = !items.length;
        loaded = call("GET", "/api/console/canned").then((body) => {
          items = body.items;
          if (!first && token()) update(); // the picker shows what was just read
        }, () => { fetchedAt = 0; });
      }
      return items.length || fetchedAt === 0 ? null : loaded;
    }

    // Letters and digits of any script (marks too, which folding drops), - and _.
    function token() {
      const before = textarea.value.slice(0, textarea.selectionStart);
      const match = before.match(/(^|\s)\/([\p{L}\p{N}\p{M}_-]*)$/u);
      return match ? { query: fold(match[2]), start: before.length - match[2].length - 1 } : null;
    }

    function close() {
      list.hidden = true;
      matches = [];
      active = 0;
      textarea.removeAttribute("aria-activedescendant");
      // Switching chats closes the picker and then puts the other chat's draft in place.
      const before = textarea.value;
      setTimeout(() => { if (textarea.value !== before) attached = null; sync(); }, 0);
    }

    // The attachment the next reply sends ({shortcut, file}), or null; taken either way.
    function takeFile() {
      const found = attached;
      attached = null;
      sync();
      return found;
    }

    function render() {
      list.replaceChildren(...matches.map((item, i) => {
        const head = el("span", { className: "canned-head" }, user(el("bdi", { className: "canned-shortcut", dir: "auto" }, `/${item.shortcut}`)));
        if (item.scope === "personal") head.append(" ", el("span", { className: "canned-mine", testid: "canned-option-mine" }, t("console.canned_mine")));
        const li = el("li", { role: "option", id: `canned-${i}`, className: "canned-option", testid: "canned-option" },
          head, user(el("span", { className: "canned-text", dir: "auto" }, item.text)));
        if (item.file) {
          li.append(el("span", { className: "canned-text", testid: "canned-option-file", title: describe(item.file) },
            clip(), " ", user(el("bdi", { dir: "auto" }, item.file.name))));
        }
        li.setAttribute("aria-selected", String(i === active));
        li.addEventListener("mousedown", (event) => { event.preventDefault(); insert(i); });
        return li;
      }));
      list.hidden = matches.length === 0;
      if (matches.length) textarea.setAttribute("aria-activedescendant", `canned-${active}`);
    }

    async function update() {
      const found = token();
      if (!found) return close();
      await refresh();
      const now = token(); // the text may have changed while the list loaded
      if (!now) return close();
      const sorted = ordered(items);
      matches = sorted.filter((item) => item.shortcut.startsWith(now.query))
        .concat(sorted.filter((item) => !item.shortcut.startsWith(now.query) && item.shortcut.includes(now.query)))
        .slice(0, 8);
      active = Math.min(active, Math.max(0, matches.length - 1));
      render();
    }

    // One more use of the entry, on the server and in the order of this tab's list.
    function count(item) {
      item.uses = (item.uses || 0) + 1;
      call("POST", "/api/console/canned/uses", { shortcut: item.shortcut, scope: item.scope || "shared" })
        .then((body) => { item.uses = body.uses; }, () => {});
    }

    function insert(i) {
      const found = token();
      const item = matches[i];
      if (!found || !item) return close();
      const value = textarea.value;
      const end = textarea.selectionStart;
      const text = fillPlaceholders(item.text, names());
      textarea.value = value.slice(0, found.start) + text + value.slice(end);
      const caret = found.start + text.length;
      textarea.setSelectionRange(caret, caret);
      if (item.file) attached = { shortcut: item.shortcut, file: item.file };
      count(item);
      close();
      sync();
      onInsert();
    }

    // Returns true when the key was the picker's.
    function keydown(event) {
      if (list.hidden || !matches.length) return false;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        active = (active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
        render();
      } else if (event.key === "Enter" || event.key === "Tab") {
        if (event.isComposing) return false;
        insert(active);
      } else if (event.key === "Escape") {
        close();
      } else {
        return false;
      }
      event.preventDefault();
      return true;
    }

    textarea.addEventListener("blur", () => setTimeout(close, 100));
    textarea.addEventListener("input", sync);
    refresh();
    // reload(): the agent changed their own set; the next "/" reads the lists again.
    return { update, keydown, close, takeFile, reload: () => { fetchedAt = 0; } };
  }

  // --- "My canned responses" ------------------------------------------------------------------
  // The agent's own set: listed with how often each was inserted, added, edited (the text;
  // a new shortcut is a new entry) and deleted. They have no files.
  const ERRORS = {
    invalid_shortcut: "console.canned_err_shortcut", invalid_text: "console.canned_err_text",
    unknown_variable: "console.canned_err_variable", invalid_fallback: "console.canned_err_fallback",
    personal_canned_limit: "console.canned_err_limit",
  };

  // A sentence that names variables ({name}, {name|friend}) or quotes what was typed ({foo}):
  // each braced part as code, marked as what people write (syntax, not words to translate).
  function withVariables(sentence) {
    return sentence.split(/(\{[^{}]*\})/).map((part, i) => (i % 2 ? user(el("code", { dir: "ltr" }, part)) : part));
  }

  function createMine({ dialog, opener, onChange }) {
    const shortcut = el("input", { name: "shortcut", required: true, maxLength: 33, dir: "auto", autocomplete: "off", testid: "my-canned-shortcut" });
    const text = el("textarea", { name: "text", required: true, maxLength: 4000, rows: 3, dir: "auto", testid: "my-canned-text" });
    const error = el("p", { className: "form-error", role: "alert", hidden: true, testid: "my-canned-error" });
    const rows = el("ul", { className: "my-canned-list", testid: "my-canned-list" });
    const save = el("button", { type: "submit", className: "button primary", testid: "my-canned-save" }, t("common.save"));
    const done = el("button", { type: "button", className: "button subtle", testid: "my-canned-close" }, t("common.close"));
    const form = el("form", { className: "transfer-form my-canned-form" },
      el("h2", { id: "my-canned-title" }, t("console.my_canned")),
      el("p", { className: "hint" }, ...withVariables(t("console.my_canned_help"))),
      rows,
      el("label", {}, t("console.canned_shortcut"), " ", shortcut),
      el("label", {}, t("console.canned_text"), " ", text),
      error,
      el("div", { className: "dialog-actions" }, done, save));
    dialog.replaceChildren(form);
    let limit = 0;

    function problem(body) {
      const key = ERRORS[body && body.error];
      error.replaceChildren(...withVariables(key ? t(key, { typed: body.typed || "", n: limit }) : t("console.canned_err_failed")));
      error.hidden = false;
    }

    function row(item) {
      const edit = el("button", { type: "button", className: "button small", testid: "my-canned-edit" }, t("console.canned_edit"));
      const remove = el("button", { type: "button", className: "button small danger", testid: "my-canned-delete" }, t("console.canned_delete"));
      edit.addEventListener("click", () => { shortcut.value = item.shortcut; text.value = item.text; text.focus(); });
      remove.addEventListener("click", async () => {
        try {
          await call("DELETE", `/api/console/canned/mine/${encodeURIComponent(item.shortcut)}`);
        } catch (failure) {
          if (failure.body?.error !== "not_found") return problem(failure.body);
        }
        onChange();
        load();
      });
      return el("li", { className: "my-canned-row", testid: "my-canned-row" },
        user(el("bdi", { className: "canned-shortcut", dir: "auto" }, `/${item.shortcut}`)),
        user(el("span", { className: "canned-text", dir: "auto" }, item.text)),
        el("span", { className: "choice-detail", testid: "my-canned-uses" }, t("console.canned_uses", { n: item.uses || 0 })),
        edit, remove);
    }

    async function load() {
      try {
        const body = await call("GET", "/api/console/canned/mine");
        limit = body.limit;
        rows.replaceChildren(...(body.items.length ? body.items.map(row) : [el("li", { className: "hint" }, t("console.canned_none"))]));
      } catch (failure) {
        problem(failure.body);
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      save.disabled = true;
      try {
        await call("POST", "/api/console/canned/mine", { shortcut: shortcut.value, text: text.value });
        shortcut.value = "";
        text.value = "";
        onChange();
        await load();
      } catch (failure) {
        problem(failure.body);
      } finally {
        save.disabled = false;
      }
    });
    done.addEventListener("click", () => dialog.close());
    opener.addEventListener("click", () => { error.hidden = true; load(); dialog.showModal(); shortcut.focus(); });
    return { load };
  }

  return { createCanned, createMine, fillPlaceholders, fold };
})();
