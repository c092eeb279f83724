// Panels of the agent console around the thread: the visitor's details and earlier
// conversations, the canned-response picker, and the transfer dialog. agent.js wires them.
// User text only ever reaches the page as text nodes.
"use strict";

window.AgentPanels = (() => {
  const { el, timeOf } = window.ChatCommon;
  const { browserOf, localTime, dateTime } = window.ConsoleKit;

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status}`);
    return response.json();
  }

  const STATUS_LABELS = {
    queued: "Queued", assigned: "Open", waiting_on_agent: "Waiting for you",
    waiting_on_visitor: "Waiting for the visitor", resolved: "Resolved", missed: "Missed",
    abandoned: "Abandoned", closed: "Closed",
  };
  const statusLabel = (status) => STATUS_LABELS[status] || status || "";

  // A visitor-provided URL becomes a link only when it is plain http(s).
  function pageLink(url, title) {
    const text = title ? `${title} — ${url}` : url;
    if (!/^https?:\/\//i.test(url || "")) return el("span", { dir: "auto" }, text || "");
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow", dir: "auto" }, text);
  }

  // --- visitor details and history -------------------------------------------------------
  function createDetails({ details, history, historyList, onReopen, closed }) {
    let shown = null; // {conv}

    function render(conv) {
      const v = conv.visitor || {};
      const page = v.page || {};
      // Identity verification (docs/security.md): details the site's backend signed get a
      // "verified" badge; self-declared ones are shown plainly.
      const mark = (value) => (v.verified && value ? el("span", {}, el("span", { dir: "auto" }, value), " ",
        el("span", { className: "count", testid: "verified", title: `Verified by the site: user ${v.user_id}` }, "verified")) : value);
      const rows = [
        ["Name", mark(v.name)], ["Email", mark(v.email)], ["Verified user id", v.user_id],
        ["Local time", localTime(v.timezone)],
        ["Locale", v.locale], ["Browser", browserOf(v.user_agent)],
        ["Current page", page.url ? pageLink(page.url, page.title) : ""],
        ["Referrer", page.referrer ? pageLink(page.referrer, "") : ""],
        ["First seen", dateTime(v.first_seen)], ["Department", conv.department],
      ];
      details.replaceChildren(...rows.filter(([, value]) => value).flatMap(([label, value]) => [
        el("dt", {}, label),
        typeof value === "string" ? el("dd", { dir: "auto" }, value) : el("dd", {}, value),
      ]));
    }

    async function loadHistory(conv) {
      const visitorId = conv.visitor && conv.visitor.id;
      if (!visitorId) { history.hidden = true; return; }
      // Fetched each time a chat is opened: statuses change (resolved, reopened).
      let items;
      try {
        items = (await getJSON(`/api/console/visitors/${encodeURIComponent(visitorId)}/conversations`)).items;
      } catch { return; }
      if (!shown || shown.conv !== conv) return; // another chat was selected meanwhile
      const earlier = items.filter((item) => item.id !== conv.id);
      history.hidden = earlier.length === 0;
      historyList.replaceChildren(...earlier.map((item) => historyItem(item)));
    }

    function historyItem(item) {
      const summary = el("summary", {},
        el("span", {}, dateTime(item.created_at)),
        el("span", { className: "history-meta" },
          ` · ${statusLabel(item.status)}${item.agent && item.agent.name ? ` · ${item.agent.name}` : ""}`));
      const body = el("ol", { className: "history-messages" });
      const box = el("details", { className: "history-item", testid: "history-item" }, summary, body);
      box.addEventListener("toggle", async () => {
        if (!box.open || box.dataset.loaded) return;
        box.dataset.loaded = "1";
        try {
          const data = await getJSON(`/api/console/conversations/${encodeURIComponent(item.id)}/messages`);
          body.replaceChildren(...data.messages.map(historyLine));
        } catch { body.replaceChildren(el("li", { className: "muted" }, "Could not load this conversation.")); }
        if (closed.has(item.status)) {
          const reopen = el("button", { type: "button", className: "button small", testid: "history-reopen" }, "Reopen as mine");
          reopen.addEventListener("click", () => onReopen(item.id));
          body.append(el("li", {}, reopen));
        }
      });
      return el("li", {}, box);
    }

    function historyLine(m) {
      const who = m.from === "visitor" ? "Visitor" : m.from === "note" ? `Note · ${m.author.name}`
        : m.from === "system" ? "" : m.from === "bot" ? `${m.author.name} · bot`
        : (m.author && m.author.name) || "Agent";
      return el("li", { className: `history-line from-${m.from}${m.event === "transfer_note" ? " from-note" : ""}` },
        el("span", { className: "history-who" }, who ? `${who} · ${timeOf(m.ts)}` : timeOf(m.ts)),
        el("span", { className: "history-text", dir: "auto" }, m.event === "erased" ? "Erased" : window.Linkify.fragment(m.text || "")));
    }

    return {
      show(conv) {
        const changed = !shown || shown.conv !== conv;
        shown = { conv };
        render(conv);
        if (changed) { history.hidden = true; historyList.replaceChildren(); loadHistory(conv); }
      },
      tick() { if (shown) render(shown.conv); },
    };
  }

  // --- canned responses ------------------------------------------------------------------
  // Typing "/" then a shortcut at the caret opens the picker; ↑/↓ move, Enter or Tab insert,
  // Escape closes. An entry with a file (a paperclip and its name in the list) attaches it to
  // the next reply: shown above the composer, removable, and taken by the reply (takeFile),
  // which sends a copy of it (agent-files.js).
  // {name} and {agent} in a canned text become the visitor's and the agent's names; an
  // unknown visitor's {name} goes with the space before it ("Hi {name}," -> "Hi,").
  function fillPlaceholders(text, names) {
    return text
      .replace(/\s?\{name\}/g, (m) => (names.visitor ? m.replace("{name}", names.visitor) : ""))
      .replace(/\{agent\}/g, names.agent || "");
  }

  function createCanned({ textarea, list, onInsert, names = () => ({}) }) {
    let items = [];
    let fetchedAt = 0;
    let matches = [];
    let active = 0;
    let attached = null; // {shortcut, file: {name, type, size}}
    const chip = el("p", { className: "hint canned-attachment", testid: "canned-attachment", hidden: true });
    (list.closest(".composer-row") || list).before(chip);

    // agent-files.js loads after this file: looked up when first drawn.
    const describe = (file) => `${file.type} · ${window.AgentFiles.sizeText(file.size)}`;
    const clip = () => window.AgentFiles.clipIcon(14);

    // The attachment lasts while the composer has text (the agent may edit the canned text);
    // an emptied composer or a switch to another chat drops it.
    function sync() {
      if (attached && !textarea.value.trim()) attached = null;
      if (!attached) { chip.hidden = true; chip.replaceChildren(); return; }
      const remove = el("button", { type: "button", className: "button small", testid: "canned-attachment-remove" }, "Remove");
      remove.addEventListener("click", () => { attached = null; sync(); textarea.focus(); });
      chip.replaceChildren(clip(), " Sent with the reply: ", el("bdi", { dir: "auto", className: "file-name", testid: "canned-attachment-name" }, attached.file.name),
        " ", el("span", { className: "file-meta" }, describe(attached.file)), " ", remove);
      chip.hidden = false;
    }

    async function refresh() {
      if (Date.now() - fetchedAt < 30000) return;
      fetchedAt = Date.now();
      try { items = (await getJSON("/api/console/canned")).items; } catch { fetchedAt = 0; }
    }

    function token() {
      const before = textarea.value.slice(0, textarea.selectionStart);
      const match = before.match(/(^|\s)\/([\w-]*)$/);
      return match ? { query: match[2].toLowerCase(), start: before.length - match[2].length - 1 } : null;
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
        const li = el("li", { role: "option", id: `canned-${i}`, className: "canned-option", testid: "canned-option" },
          el("span", { className: "canned-shortcut" }, `/${item.shortcut}`),
          el("span", { className: "canned-text", dir: "auto" }, item.text));
        if (item.file) {
          li.append(el("span", { className: "canned-text", testid: "canned-option-file", title: describe(item.file) },
            clip(), " ", el("bdi", { dir: "auto" }, item.file.name)));
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
      matches = items.filter((item) => item.shortcut.startsWith(now.query))
        .concat(items.filter((item) => !item.shortcut.startsWith(now.query) && item.shortcut.includes(now.query)))
        .slice(0, 8);
      active = Math.min(active, Math.max(0, matches.length - 1));
      render();
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
    return { update, keydown, close, takeFile };
  }

  // --- transfer dialog -------------------------------------------------------------------
  // Also the supervisors' take-over (agent-supervise.js passes `takeOver`): the same lists,
  // with "to me" first and without the note.
  function createTransfer({ dialog, me, send }) {
    const q = (id) => dialog.querySelector(`[data-testid="${id}"]`);
    const ui = {
      form: dialog.querySelector("form"), agents: q("transfer-agents"), depts: q("transfer-departments"),
      note: q("transfer-note"), error: q("transfer-error"), submit: q("transfer-submit"), cancel: q("transfer-cancel"),
      title: dialog.querySelector("h2"), legend: dialog.querySelector("legend"),
      noteLabel: dialog.querySelector('label[for="transfer-note"]'),
    };
    const plain = { title: ui.title.textContent, agents: ui.legend.textContent, submit: ui.submit.textContent,
      pick: "Choose an agent or a queue." };
    let convId = null;
    let takeOver = null; // {text, holder, mine: {load, capacity}, sent(target), describe(frame)}

    function choice(value, label, detail, enabled, testid) {
      const input = el("input", { type: "radio", name: "target", value, disabled: !enabled });
      return el("li", { testid },
        el("label", { className: enabled ? "" : "disabled" }, input,
          el("span", { className: "choice-name", dir: "auto" }, label),
          el("span", { className: "choice-detail" }, detail)));
    }

    async function open(conv, options = null) {
      convId = conv.id;
      takeOver = options;
      const text = takeOver ? takeOver.text : plain;
      ui.title.textContent = text.title;
      ui.legend.textContent = text.agents;
      ui.submit.textContent = text.submit;
      ui.note.hidden = ui.noteLabel.hidden = Boolean(takeOver);
      ui.error.hidden = true;
      ui.note.value = "";
      ui.submit.disabled = false;
      ui.agents.replaceChildren(el("li", { className: "muted" }, "Loading…"));
      ui.depts.replaceChildren();
      dialog.showModal();
      let team;
      try { team = await getJSON("/api/console/team"); } catch {
        ui.agents.replaceChildren(el("li", { className: "muted" }, "Could not load the team."));
        return;
      }
      const holder = takeOver && takeOver.holder;
      const others = team.agents.filter((a) => a.id !== me.id && !(holder && a.id === holder.id));
      const toMe = takeOver ? [choice("me:", text.toMe, `${takeOver.mine.load}/${takeOver.mine.capacity}`, true, "take-over-me")] : [];
      ui.agents.replaceChildren(...toMe, ...(others.length ? others.map((a) => choice(`agent:${a.id}`, a.name || a.id,
        `${a.status} · ${a.load}/${a.capacity}`, a.available, "transfer-agent")) : [el("li", { className: "muted" }, "No other agents on this site.")]));
      ui.depts.replaceChildren(choice("department:", "General queue", "", true, "transfer-department"),
        ...team.departments.map((d) => choice(`department:${d}`, d, "", true, "transfer-department")));
      const first = dialog.querySelector('input[name="target"]:not(:disabled)');
      if (first) first.focus();
    }

    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const picked = dialog.querySelector('input[name="target"]:checked');
      if (!picked) { ui.error.textContent = (takeOver ? takeOver.text : plain).pick; ui.error.hidden = false; return; }
      const [kind, ...rest] = picked.value.split(":");
      const value = rest.join(":");
      let frame;
      if (takeOver) {
        // A compare-and-set: it applies only while the agent seen when the dialog opened still
        // holds the chat (if someone moved it meanwhile, the server says so).
        const holder = takeOver.holder;
        frame = { type: "take_over", conversation_id: convId, from_agent_id: holder ? holder.id : "" };
        if (kind === "agent") frame.to_agent_id = value;
        if (kind === "department") frame.department = value;
        takeOver.sent(kind);
      } else {
        frame = { type: "transfer", conversation_id: convId };
        if (kind === "agent") frame.agent_id = value; else frame.department = value;
        if (ui.note.value.trim()) frame.note = ui.note.value.trim();
      }
      ui.submit.disabled = true;
      ui.error.hidden = true;
      send(frame);
    });
    ui.cancel.addEventListener("click", () => dialog.close());

    return {
      open,
      isOpen: () => dialog.open,
      // The chat left us (or, taken over, moved): the step (from this tab or another) went through.
      done(id) { if (id === convId && dialog.open) dialog.close(); },
      failed(frame) {
        if (!dialog.open || frame.ref !== convId) return false;
        ui.error.textContent = (takeOver && takeOver.describe(frame)) || frame.message || frame.code;
        ui.error.hidden = false;
        ui.submit.disabled = false;
        return true;
      },
    };
  }

  return { createDetails, createCanned, createTransfer, statusLabel };
})();
