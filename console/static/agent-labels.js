// Conversation labels in the agent console (docs/protocol.md, "Agent actions", `label`): the
// site's labels (GET /api/console/labels: id, name, palette colour) shown as chips in each
// list entry and in the thread's header, an "Add label" menu there (a menu of checkboxes,
// arrow keys move, Escape closes), and a select above "My chats" that shows only the chats
// with one label. A conversation's labels arrive as ids in its summary and in `labels`
// frames (to every agent socket following it); an id the site no longer has is skipped, and
// an id not known yet reloads the site's labels once (so do opening the menu and coming back
// to the tab, for what an admin changed meanwhile). agent-search.js reads the same labels
// (`window.AgentLabels.site`). Label names are user content: text nodes only.
"use strict";

window.AgentLabels = (() => {
  const { el } = window.ChatCommon;
  const { t } = window.I18n;
  const { user } = window.ConsoleKit;

  // The site's labels, loaded once and again when an unknown id shows up.
  const site = (() => {
    let labels = [];
    let byId = new Map();
    let loading = null;
    let tried = new Set(); // unknown ids a reload already looked for
    const listeners = [];
    async function load() {
      if (loading) return loading;
      loading = (async () => {
        try {
          const response = await fetch("/api/console/labels", { credentials: "same-origin", headers: { Accept: "application/json" } });
          if (!response.ok) return;
          const body = await response.json();
          const fresh = Array.isArray(body.items) ? body.items : [];
          if (JSON.stringify(fresh) === JSON.stringify(labels)) return; // nothing new to draw
          labels = fresh;
          byId = new Map(labels.map((l) => [l.id, l]));
          for (const fn of listeners) fn(labels);
        } catch { /* offline: the chips come with the next load */ }
      })();
      try { await loading; } finally { loading = null; }
    }
    // The labels of these ids, in the site's order; an unknown id reloads (once per id).
    function resolve(ids) {
      const unknown = (ids || []).filter((id) => !byId.has(id) && !tried.has(id));
      if (unknown.length) { for (const id of unknown) tried.add(id); load(); }
      const wanted = new Set(ids || []);
      return labels.filter((l) => wanted.has(l.id));
    }
    return {
      load, resolve, all: () => labels, get: (id) => byId.get(id),
      onChange: (fn) => { listeners.push(fn); if (labels.length) fn(labels); },
      forget: () => { tried = new Set(); },
    };
  })();

  function chip(label, extra) {
    const node = user(el("span", { className: `label-chip label-${label.color || "gray"}`, dir: "auto", testid: "label-chip" }, label.name));
    node.dataset.labelId = label.id;
    if (extra) node.append(extra);
    return node;
  }

  // `app`: agent.js's state, send, say, q, refresh, refreshAll (every entry again), CLOSED.
  function create(app) {
    const { state, send, say, q, CLOSED } = app;
    const ui = {
      bar: q("label-bar"), chips: q("thread-labels"), add: q("label-add"), menu: q("label-menu"),
      filter: q("label-filter"), filterWrap: q("label-filter-wrap"),
    };
    let filter = "";
    const pending = new Map(); // conversation id -> when we last asked (an error is about it)
    const selected = () => state.convs.get(state.selected);
    // Ended chats other than resolved ones take no labels (the server refuses them).
    const mayLabel = (conv) => Boolean(conv) && (!CLOSED.has(conv.status) || conv.status === "resolved");

    function fromSummary(conv, summary) {
      if (Array.isArray(summary.labels)) conv.labels = summary.labels;
    }

    const matches = (conv) => !filter || (conv.labels || []).includes(filter);

    // The list entry: its chips, and hidden when the filter leaves it out.
    function decorate(conv, button) {
      const labels = site.resolve(conv.labels);
      if (labels.length) button.append(el("span", { className: "label-chips conv-labels", testid: "conv-labels" }, ...labels.map((l) => chip(l))));
      conv.item.hidden = !matches(conv);
    }

    function change(conv, labelId, action) {
      if (!state.ready) return say(t("console.not_connected"), true);
      pending.set(conv.id, Date.now());
      send({ type: "label", conversation_id: conv.id, label_id: labelId, action });
    }

    function renderThread(conv) {
      if (!ui.bar) return;
      const labels = site.resolve(conv.labels);
      const editable = mayLabel(conv); // a monitoring supervisor labels it too
      ui.chips.replaceChildren(...labels.map((l) => {
        if (!editable) return chip(l);
        const remove = el("button", { type: "button", className: "label-remove", testid: "label-remove" }, "×");
        remove.setAttribute("aria-label", t("console.remove_label", { name: l.name }));
        remove.addEventListener("click", (event) => { event.stopPropagation(); change(conv, l.id, "remove"); });
        return chip(l, remove);
      }));
      ui.add.hidden = !editable || !site.all().length;
      if (ui.add.hidden || (menuFor && menuFor !== conv.id)) closeMenu();
      else if (!ui.menu.hidden) fillMenu(conv);
    }

    // --- the "Add label" menu --------------------------------------------------------------
    let menuFor = null;
    function fillMenu(conv) {
      const have = new Set(conv.labels || []);
      const focused = ui.menu.contains(document.activeElement) ? document.activeElement.dataset.labelId : null;
      ui.menu.replaceChildren(...site.all().map((l) => {
        const item = el("button", { type: "button", testid: "label-option", tabIndex: -1 }, chip(l));
        item.setAttribute("role", "menuitemcheckbox");
        item.setAttribute("aria-checked", String(have.has(l.id)));
        item.dataset.labelId = l.id;
        item.addEventListener("click", () => {
          change(conv, l.id, have.has(l.id) ? "remove" : "add");
          closeMenu(true);
        });
        return item;
      }));
      const again = focused && [...ui.menu.children].find((item) => item.dataset.labelId === focused);
      if (again) again.focus();
    }
    function openMenu() {
      const conv = selected();
      if (!conv) return;
      menuFor = conv.id;
      fillMenu(conv);
      ui.menu.hidden = false;
      ui.add.setAttribute("aria-expanded", "true");
      const first = ui.menu.querySelector("[role=menuitemcheckbox]");
      if (first) first.focus();
      site.load(); // labels an admin added since: the menu is filled again if there are any
    }
    function closeMenu(focusButton = false) {
      if (ui.menu.hidden) return;
      ui.menu.hidden = true;
      menuFor = null;
      ui.add.setAttribute("aria-expanded", "false");
      if (focusButton) ui.add.focus();
    }
    if (ui.bar) {
      ui.add.addEventListener("click", () => (ui.menu.hidden ? openMenu() : closeMenu()));
      ui.menu.addEventListener("keydown", (event) => {
        const items = [...ui.menu.querySelectorAll("[role=menuitemcheckbox]")];
        const at = items.indexOf(document.activeElement);
        const step = { ArrowDown: 1, ArrowUp: -1 }[event.key];
        if (step) {
          event.preventDefault();
          items[(at + step + items.length) % items.length].focus();
        } else if (event.key === "Home" || event.key === "End") {
          event.preventDefault();
          items[event.key === "Home" ? 0 : items.length - 1].focus();
        } else if (event.key === "Escape") {
          event.preventDefault();
          closeMenu(true);
        } else if (event.key === "Tab") closeMenu();
      });
      document.addEventListener("click", (event) => {
        if (!ui.menu.hidden && !ui.bar.contains(event.target)) closeMenu();
      });
    }

    // --- the list's filter -----------------------------------------------------------------
    function fillFilter(labels) {
      if (!ui.filter) return;
      const keep = filter;
      ui.filter.replaceChildren(el("option", { value: "" }, t("console.all_labels")),
        ...labels.map((l) => user(el("option", { value: l.id }, l.name))));
      filter = labels.some((l) => l.id === keep) ? keep : "";
      ui.filter.value = filter;
      ui.filterWrap.hidden = !labels.length;
    }
    if (ui.filter) {
      ui.filter.addEventListener("change", () => {
        filter = ui.filter.value;
        app.refreshAll();
      });
    }
    site.onChange((labels) => { fillFilter(labels); app.refreshAll(); });

    // A `labels` frame: the conversation's ids now (ours, or another console's change).
    function handle(frame, conv) {
      if (frame.type !== "labels") return false;
      if (conv && Array.isArray(frame.labels)) {
        pending.delete(conv.id);
        conv.labels = frame.labels;
        app.refresh(conv);
      }
      return true;
    }

    // An error about a label we asked to change: said here (the menu is closed already).
    function failed(frame) {
      const asked = frame.ref && pending.get(frame.ref);
      if (!asked || Date.now() - asked > 15000) return false;
      pending.delete(frame.ref);
      if (frame.field === "label_id") { site.forget(); site.load(); }
      say(frame.field === "label_id" ? t("console.label_err_unknown") : window.ConsoleKit.errorText(frame), true);
      return true;
    }

    site.load();
    // Back to the tab: what an admin changed meanwhile (one small read).
    document.addEventListener("visibilitychange", () => { if (!document.hidden) site.load(); });
    return { fromSummary, decorate, renderThread, handle, failed, matches };
  }

  return { create, site, chip };
})();
