// The visitor's chat panel: the frame's side of the host page (open and close, the launcher,
// the focus trap, the loader's messages and borrowed storage), other tabs' storage changes,
// and the wiring that starts the panel. Loaded last: every other part is in place by now.
// Part of the panel's scripts: see chat.js for the order and the shared namespace.
"use strict";

(() => {
  const P = window.ChatPanel;
  const { SITE, LOCALE, FRAME, HOST, KEYS, ui, store, borrowed, state, config, post, emit, send } = P;
  const { compareIds } = window.ChatCommon;
  const CLOSE_ANIMATION_MS = 160;
  const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)");

  async function refreshConfig() {
    try {
      const response = await fetch(`/api/widget/config?site=${encodeURIComponent(SITE)}`);
      if (response.ok) Object.assign(config, await response.json(), { locale: LOCALE });
    } catch {
      // Keep what we had.
    }
    P.render();
  }
  // Whether someone can answer changes while the panel is open: look again every few seconds
  // while it is open and in sight and no chat is under way (render() swaps the forms).
  setInterval(() => state.open && !document.hidden && !P.OPEN.has(state.status) && refreshConfig(), 5000);

  function setOpen(open, focus = true) {
    if (!FRAME || open === state.open) return;
    state.open = open;
    document.body.classList.toggle("open", open);
    ui.launcher.setAttribute("aria-expanded", String(open));
    clearTimeout(state.closeTimer);
    if (open) {
      post("state", { open: true, position: config.position });
      if (store.get(KEYS.token)) P.ensureConnected();
      refreshConfig();
      if (focus) requestAnimationFrame(focusFirst);
      P.markRead();
      import("./lazy.js");
    } else {
      // Let the panel fade out before the loader shrinks the frame to the launcher.
      const delay = reducedMotion.matches ? 0 : CLOSE_ANIMATION_MS;
      state.closeTimer = setTimeout(() => post("state", { open: false, position: config.position }), delay);
      if (ui.panel.contains(document.activeElement)) ui.launcher.focus();
      P.renderBadge();
    }
    // Once per change, here only: the loader does not announce its state messages.
    emit(open ? "open" : "close");
  }

  function focusables() {
    const nodes = [...ui.panel.querySelectorAll("a[href], button, input, select, textarea")]
      .filter((node) => !node.disabled && node.getClientRects().length > 0 && !node.closest("[hidden]"));
    // On desktop it closes the panel.
    if (FRAME && !state.phone) nodes.push(ui.launcher);
    return nodes;
  }

  function focusFirst() {
    const target = ui.start.hidden ? ui.composer
      : [...ui.start.elements].find((n) => !n.closest("[hidden]") && !n.value);
    (target || ui.composer).focus({ preventScroll: true });
  }
  P.focusFirst = focusFirst;

  // A modal panel: Tab cycles inside it, Escape closes it.
  document.addEventListener("keydown", (event) => {
    if (!FRAME || !state.open) return;
    if (event.key === "Escape") {
      event.preventDefault();
      setOpen(false);
    } else if (event.key === "Tab") {
      const items = focusables();
      const first = items[0];
      const last = items[items.length - 1];
      const at = document.activeElement;
      if (event.shiftKey && (at === first || !items.includes(at))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (at === last || !items.includes(at))) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  const text = (value, max) => (typeof value === "string" ? value.trim().slice(0, max) : "");
  function cleanPage(page) {
    const p = page || {};
    const out = { url: text(p.url, 2048), title: text(p.title, 300) };
    if (text(p.referrer, 2048)) out.referrer = text(p.referrer, 2048);
    return out;
  }
  // hello() (chat.js) sends the page too.
  P.cleanPage = cleanPage;

  // The page's customer. A signed identity (user_id, issued_at, signature: the server checks
  // them) goes in every hello and identify as it came, and only in memory: a page that no
  // longer signs (signed out) sends none.
  function setUser(u) {
    const name = text(u.name, 100), email = text(u.email, 254);
    state.signed = u.signature && { ...u, name, email };
    P.setProfile({ name, email }, state.signed);
  }

  function setPhone(phone) {
    state.phone = Boolean(phone);
    document.body.classList.toggle("phone", state.phone);
  }

  const local = P.hasLocalStorage;
  window.addEventListener("message", (event) => {
    if (!FRAME || event.source !== window.parent || event.origin !== HOST) return;
    const m = event.data;
    if (!m || m.chatserver !== 1) return;
    if (m.type === "init") {
      if (!local && m.storage && typeof m.storage === "object") {
        for (const [key, value] of Object.entries(m.storage)) {
          if (key.startsWith("cs:") && typeof value === "string") borrowed.set(key, value);
        }
      }
      Object.assign(state, P.freshState());
      start();
      state.page = cleanPage(m.page);
      setPhone(m.phone);
      if (m.user) setUser(m.user);
      // A visitor who never wrote gets a socket only when they open the chat.
      if (store.get(KEYS.token) || state.outbox.length) P.ensureConnected();
      post("state", { open: state.open, position: config.position });
      P.renderBadge();
      // Open on the previous page of this tab: open again, without taking the page's focus.
      if (m.open) setOpen(true, false);
    } else if (m.type === "open" || m.type === "close" || m.type === "toggle") {
      setOpen(m.type === "toggle" ? !state.open : m.type === "open");
    } else if (m.type === "user" && m.user) {
      setUser(m.user);
    } else if (m.type === "page") {
      state.page = cleanPage(m.page);
      if (state.ready) send({ type: "page", page: state.page });
    } else if (m.type === "layout") {
      setPhone(m.phone);
    } else if (m.type === "storage" && !local && typeof m.key === "string") {
      if (typeof m.value === "string") borrowed.set(m.key, m.value);
      else borrowed.delete(m.key);
      storageChanged(m.key);
    }
  });

  // Other tabs of the same site share the storage: keep the badge and the rating in step.
  function storageChanged(key) {
    if (key === KEYS.lastRead) {
      state.lastRead = store.get(KEYS.lastRead);
      P.renderBadge();
    } else if (key === KEYS.ended) {
      state.ended = store.json(KEYS.ended, null);
      P.render();
    }
  }
  window.addEventListener("storage", (event) => storageChanged(event.key));

  // ---- wiring ----------------------------------------------------------------------------

  const accent = /^#([0-9a-f]{3}){1,2}$/i.test(config.color || "") ? config.color : null;
  if (accent) {
    const hex = accent.length === 4 ? accent.replace(/\w/g, (c) => c + c) : accent;
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    document.documentElement.style.setProperty("--accent", accent);
    // Light brand colours get dark text on them.
    document.documentElement.style.setProperty("--on-accent", 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.6 ? "#111827" : "#ffffff");
  }

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    P.submit();
    ui.composer.focus();
  });
  ui.composer.addEventListener("keydown", (event) => {
    // isComposing: the Enter that confirms an IME candidate (Persian, CJK…) must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      P.submit();
    }
  });
  ui.composer.addEventListener("input", P.onInput);
  ui.composer.addEventListener("blur", P.stopTyping);
  ui.end.addEventListener("click", () => send({ type: "resolve" }));
  ui.start.addEventListener("submit", P.submitStart);
  ui.start.elements.message.addEventListener("input", (event) => P.tooLong(event.target));
  if (ui.launcher) ui.launcher.addEventListener("click", () => setOpen(!state.open));
  if (ui.close) ui.close.addEventListener("click", () => setOpen(false));

  function start() {
    P.resetList();
    for (const msg of [...state.history.values()].sort((a, b) => compareIds(a.id, b.id))) P.showMessage(msg);
    // An item can be both acked (in the history) and still in the outbox if the tab closed between.
    state.outbox = state.outbox.filter((item) => !state.byClientId.has(item.client_id));
    P.saveOutbox();
    for (const item of state.outbox) P.showPending(item);
    P.say("");
    P.render();
  }

  if (FRAME) {
    // The loader answers with "init".
    post("ready", { storage: Boolean(local) });
  } else {
    start();
    P.ensureConnected();
    P.render();
    import("./lazy.js");
  }
})();
