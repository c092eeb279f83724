// The visitor's chat panel. In the widget it runs in an iframe served by the chat server (mode
// "frame": a launcher opens it, and it talks to the host page's loader only by postMessage with
// an explicit origin); at /chat it is the whole page (mode "page"). Speaks the v1 wire protocol
// (docs/protocol.md) over a JSON WebSocket. What people write only ever reaches the page as
// text nodes (links are built as elements around text).
//
// The panel is three plain scripts, loaded with defer in this order (no build step):
//   chat.js        this file: boot settings, strings, storage, the shared state, and the
//                  conversation with the server (outbox, typing, each frame's effect; the
//                  reconnecting socket is socket.js, which the server appends to this file)
//   chat-view.js   what the panel shows: the message list, unread count and read receipts,
//                  the cards (queue, email, rating), the start form, render()
//   chat-frame.js  open and close, focus, the host page's messages; starts the panel
// They share one namespace, window.ChatPanel (P in each). Each script adds its functions to P
// and calls another script's functions through P at run time, never while loading. `state`
// and `config` are each one object for the page's life (reset or refreshed in place, never
// replaced), so a script may keep a reference to them.
// Three parts, not more, on purpose: gzip shares no dictionary across files, and each further
// part would cost about 0.4 KB of the widget's 20 KB budget.
"use strict";

(() => {
  const P = (window.ChatPanel = {});
  const { newClientId, setDelivery, el } = window.ChatCommon;
  const TYPING_EVERY_MS = 1000;
  const ACK_TIMEOUT_MS = 10000;
  const TIMEZONE = /^[A-Za-z0-9_+\-/]{1,64}$/;
  const BOOT = JSON.parse(document.getElementById("cs-boot").textContent);
  const { site: SITE, locale: LOCALE, strings: T } = BOOT;
  const FRAME = BOOT.mode === "frame";
  // The origin of the page that embeds the frame.
  const HOST = BOOT.host;
  // Refreshed in place from /api/widget/config when the panel opens.
  const config = BOOT.config;

  const KEYS = {
    token: `cs:token:${SITE}`, cursor: `cs:cursor:${SITE}`, outbox: `cs:outbox:${SITE}`,
    history: `cs:history:${SITE}`, visitor: `cs:visitor:${SITE}`, profile: `cs:profile:${SITE}`,
    lastRead: `cs:read:${SITE}`, agentRead: `cs:agent-read:${SITE}`, ended: `cs:ended:${SITE}`,
  };
  // The open states: the server writes chatserver.core.states.OPEN_STATUSES over the empty
  // list as it loads this file (widget_routes.py), so no copy here can drift from it.
  const OPEN = new Set(/*OPEN_STATUSES*/[]);

  const numbers = new Intl.NumberFormat(LOCALE);
  // Strings with {placeholders}; numbers come out in the locale's digits (۰-۹ in Persian).
  const t = (key, vars = {}) => (T[key] || key).replace(/\{(\w+)\}/g,
    (_, name) => (typeof vars[name] === "number" ? numbers.format(vars[name]) : vars[name] ?? ""));
  const timeOf = (ts) => window.ChatCommon.timeOf(ts, LOCALE);

  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const ui = {
    panel: q("panel"), list: q("messages"), form: q("composer-form"), composer: q("composer"),
    state: q("conversation-status"), typing: q("typing"), line: q("status-line"),
    end: q("end-chat"), close: q("close"), launcher: q("launcher"), badge: q("unread"),
    start: q("start-form"), startIntro: q("start-intro"), startSubmit: q("start-submit"),
  };
  ui.typingText = ui.typing.querySelector(".typing-text");

  function post(type, extra = {}) {
    if (FRAME && HOST) window.parent.postMessage({ chatserver: 1, type, ...extra }, HOST);
  }
  const emit = (name, detail) => post("event", { name, detail });

  // Storage can throw (disabled, private mode, quota); the chat must keep working without it.
  // A frame whose browser refuses it storage (blocked third-party storage, as in Chrome's
  // incognito windows) borrows the host page's: the loader keeps our keys there, hands them
  // over with "init" and stores each change we post.
  let local = null;
  try {
    local = window.localStorage;
    local.getItem(KEYS.token);
  } catch {
    local = null;
  }
  const borrowed = new Map();
  const store = {
    get(key) {
      if (!local) return borrowed.get(key) ?? null;
      try { return local.getItem(key); } catch { return null; }
    },
    set(key, value) {
      if (!local) {
        borrowed.set(key, value);
        return post("store", { key, value });
      }
      // Best effort (storage may be full or refused).
      try { local.setItem(key, value); } catch { }
    },
    remove(key) {
      if (!local) {
        borrowed.delete(key);
        return post("store", { key, value: null });
      }
      // Best effort.
      try { local.removeItem(key); } catch { }
    },
    json(key, fallback) { try { return JSON.parse(this.get(key)) ?? fallback; } catch { return fallback; } },
  };

  // The frame's "init" resets it in place: Object.assign(state, freshState()).
  function freshState() {
    return {
    ready: false, everReady: false, wanted: false,
    conversationId: null, status: null, agentName: "", queue: null, askEmail: false,
    // Message id -> <li>
    byId: new Map(),
    // client_id -> <li> of my own messages
    byClientId: new Map(),
    history: new Map(store.json(KEYS.history, []).map((m) => [m.id, m])),
    // My messages not acknowledged yet
    outbox: store.json(KEYS.outbox, []),
    cursor: null,
    // Name, email, department the visitor gave
    profile: store.json(KEYS.profile, {}),
    // The last agent message the visitor has seen
    lastRead: store.get(KEYS.lastRead),
    // The agent has read my messages up to here
    agentRead: store.get(KEYS.agentRead),
    // {id, agent, rated, dismissed, pending} of the last chat
    ended: store.json(KEYS.ended, null),
    // Whether we know if there is an open conversation
    known: !store.get(KEYS.token),
    open: !FRAME, phone: false, page: null, closeTimer: null, readSent: null,
    };
  }
  const state = freshState();

  // ---- the conversation with the server ---------------------------------------------------

  // The banner shows the connection state; an error covers it for a few seconds.
  const line = { text: "", timer: null };
  function say(text, error = false) {
    if (!error) line.text = text;
    if (!error && line.timer) return;
    clearTimeout(line.timer);
    ui.line.textContent = text;
    ui.line.hidden = !text;
    ui.line.classList.toggle("error", error);
    line.timer = error ? setTimeout(() => { line.timer = null; say(line.text); }, 6000) : null;
  }

  // System events that change what the visitor is waiting for.
  function onSystemEvent(msg) {
    const name = (msg.author && msg.author.name) || "";
    if (msg.event === "requeued") {
      state.status = "queued";
      state.agentName = "";
    } else if (msg.event === "transferred" && name) {
      state.agentName = name;
    } else if (msg.event === "queue_timeout") {
      state.askEmail = true;
    }
    P.render();
  }

  // ---- sending ---------------------------------------------------------------------------

  const saveOutbox = () => store.set(KEYS.outbox, JSON.stringify(state.outbox));

  function dropFromOutbox(clientId) {
    const before = state.outbox.length;
    state.outbox = state.outbox.filter((item) => item.client_id !== clientId);
    if (state.outbox.length !== before) saveOutbox();
  }

  function transmit(item) {
    // The next welcome flushes the outbox.
    if (!state.ready) return;
    item.sentAt = Date.now();
    send({ type: "message", client_id: item.client_id, text: item.text });
  }

  // No ack means "not stored": retry with the same client_id, the server deduplicates.
  setInterval(() => {
    for (const item of state.outbox) {
      if (state.ready && Date.now() - (item.sentAt || 0) > ACK_TIMEOUT_MS) transmit(item);
    }
  }, 2000);

  function queueMessage(text) {
    const item = { client_id: newClientId(), text, ts: Date.now() };
    state.outbox.push(item);
    saveOutbox();
    P.showPending(item);
    P.render();
    ensureConnected();
    transmit(item);
  }

  // The server takes up to 4,000 characters (code points, after trimming). No maxlength in
  // panel.html, which would cut a long paste silently: a longer text stays where it was
  // typed, with a notice of how much is over, and is not sent.
  function tooLong(field, max = 4000) {
    const over = [...field.value.trim()].length - max;
    field.note = field.note || field.insertAdjacentElement("afterend", el("p", { className: "limit", testid: "too-long", role: "status" }));
    field.note.hidden = over <= 0;
    field.note.textContent = t("too_long", { n: over, max });
    field.setAttribute("aria-invalid", String(over > 0));
    return over > 0;
  }

  function submit() {
    const text = ui.composer.value.trim();
    if (!text || tooLong(ui.composer)) return;
    ui.composer.value = "";
    grow();
    stopTyping();
    queueMessage(text);
  }

  const typing = { lastSent: 0, active: false, timer: null };
  const canType = () => state.ready && state.conversationId && OPEN.has(state.status);

  function onInput() {
    grow();
    tooLong(ui.composer);
    if (!ui.composer.value.trim()) return stopTyping();
    if (!canType() || typing.timer) return;
    // Trailing send, so the agent's preview ends up showing what was typed last.
    typing.timer = setTimeout(() => {
      typing.timer = null;
      const text = ui.composer.value;
      if (!text.trim() || !canType()) return;
      typing.lastSent = Date.now();
      typing.active = true;
      send({ type: "typing", state: true, preview: text.slice(0, 200) });
    }, Math.max(0, typing.lastSent + TYPING_EVERY_MS - Date.now()));
  }

  function stopTyping() {
    clearTimeout(typing.timer);
    typing.timer = null;
    if (typing.active && canType()) send({ type: "typing", state: false });
    typing.active = false;
  }

  function grow() {
    ui.composer.style.height = "auto";
    ui.composer.style.height = `${Math.min(ui.composer.scrollHeight, 128)}px`;
  }

  // ---- connection ------------------------------------------------------------------------

  function hello() {
    const frame = { type: "hello" };
    const lang = navigator.language || "";
    frame.locale = (lang.split("-")[0] === LOCALE ? lang : LOCALE).slice(0, 35);
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && TIMEZONE.test(zone)) frame.timezone = zone;
    const token = store.get(KEYS.token);
    if (token) frame.token = token;
    // Resume from the cursor only when the transcript up to it is on screen.
    if (state.cursor && state.history.size) frame.cursor = state.cursor;
    frame.page = state.page || P.cleanPage({ url: location.href, title: document.title, referrer: document.referrer });
    const { name, email, department } = state.profile;
    if (name) frame.name = name.slice(0, 100);
    if (email) frame.email = email.slice(0, 254);
    if (department) frame.department = department.slice(0, 40);
    return Object.assign(frame, state.signed);
  }

  // Reconnects with backoff and jitter, and when the server says "reconnect" (socket.js,
  // served at the end of this file).
  const { connect, retry, send } = ChatSocket({
    path: `/ws/visitor?site=${encodeURIComponent(SITE)}`,
    hello,
    onFrame,
    onLost(code, delay) {
      state.ready = false;
      typing.active = false;
      say(delay > 1500 ? t("retrying", { n: Math.round(delay / 1000) }) : t("reconnecting"));
    },
  });

  function ensureConnected() {
    state.wanted = true;
    connect();
  }

  // Back in sight: retry now rather than at the end of the backoff (socket.js also does when
  // the browser comes back online).
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    retry();
    P.markRead();
  });
  setInterval(() => state.ready && send({ type: "ping" }), 25000);

  // ---- frames from the server ------------------------------------------------------------

  function onWelcome(frame) {
    state.ready = state.everReady = state.known = true;
    state.readSent = null;
    if (frame.token) store.set(KEYS.token, frame.token);
    const previous = store.get(KEYS.visitor);
    if (previous && frame.visitor_id && previous !== frame.visitor_id) P.forgetTranscript();
    if (frame.visitor_id) store.set(KEYS.visitor, frame.visitor_id);
    const conv = frame.conversation;
    state.conversationId = conv ? conv.id : null;
    if (conv) {
      state.status = conv.status;
      state.agentName = (conv.agent && conv.agent.name) || "";
    } else if (OPEN.has(state.status)) {
      // Keep "this chat was resolved" after a resolve.
      state.status = null;
    }
    say("");
    P.render();
    for (const item of state.outbox) transmit(item);
    P.sendRating();
    P.markRead();
  }

  function onMessage(frame) {
    if (frame.from === "agent") P.showTyping(false);
    if (!P.showMessage(frame)) return;
    if (frame.from === "system") onSystemEvent(frame);
    if (/^(agent|bot)$/.test(frame.from)) emit("message", { from: frame.from, text: frame.text });
    P.markRead();
  }

  function onAck(frame) {
    if (frame.conversation_id && frame.conversation_id !== state.conversationId) {
      // A new chat (or a reopened one).
      state.conversationId = frame.conversation_id;
      state.agentName = "";
      state.askEmail = false;
      state.queue = null;
    }
    if (!OPEN.has(state.status)) state.status = "queued";
    if (state.ended && state.ended.id === frame.conversation_id) P.saveEnded(null);
    const li = state.byClientId.get(frame.client_id);
    if (!li || li.dataset.id) dropFromOutbox(frame.client_id);
    else {
      const item = state.outbox.find((i) => i.client_id === frame.client_id);
      P.confirmOwn(li, { ...frame, text: item ? item.text : li.querySelector(".bubble").textContent });
    }
    P.render();
  }

  function onResolved(frame) {
    if (frame.conversation_id && frame.conversation_id !== state.conversationId) return;
    stopTyping();
    state.status = frame.status || "resolved";
    const hadAgent = Boolean(state.agentName) || P.agentIds().length > 0;
    P.saveEnded(null);
    P.saveEnded({ id: frame.conversation_id || state.conversationId, agent: hadAgent });
    state.queue = null;
    P.render();
  }

  // The site's notice (widget/notice.js shows it): loaded now when one comes before the panel
  // opens, so the launcher shows its dot.
  const notice = (n) => (n || config.notice) && import("./notice.js").then((m) => m.show(config.notice = n));

  function onFrame(frame) {
    switch (frame.type) {
      case "notice": return notice(frame.notice);
      case "welcome": notice(frame.notice); return onWelcome(frame);
      case "message": return onMessage(frame);
      case "ack": return onAck(frame);
      case "queue":
        // A late queue update must not hide that an agent already took the chat.
        if (OPEN.has(state.status) && state.status !== "queued") return;
        state.queue = frame;
        return P.render();
      case "assigned":
        state.conversationId = frame.conversation_id || state.conversationId;
        state.status = "assigned";
        state.agentName = (frame.agent && frame.agent.name) || "";
        return P.render();
      case "typing":
        return frame.from === "agent" && P.showTyping(Boolean(frame.state));
      case "read":
        return frame.from === "agent" && frame.id && P.agentRead(frame.id);
      case "resolved": return onResolved(frame);
      case "rated":
        P.saveEnded({ rated: true, pending: null });
        emit("rated", frame.score);
        return P.render();
      case "error": return onError(frame);
      // Pong, synced, and frames from newer servers need nothing here ("reconnect" is
      // socket.js's).
      default: return undefined;
    }
  }

  function onError(frame) {
    const rating = frame.code === "conflict" || frame.code === "not_ended";
    if (rating && state.ended && frame.ref === state.ended.id) {
      // conflict: another tab rated it; not_ended: it was reopened. Either way, stop asking.
      P.saveEnded({ rated: frame.code === "conflict", pending: null, dismissed: frame.code !== "conflict" });
      return P.render();
    }
    // A read receipt that crossed the end of its conversation: nothing to tell the visitor.
    if (frame.code === "forbidden" && /^c_/.test(frame.ref || "")) return undefined;
    const item = frame.ref && state.outbox.find((i) => i.client_id === frame.ref);
    if (item && (frame.code === "rate_limited" || frame.code === "unavailable")) {
      // Not stored: the retry loop sends it again once the wait is over.
      item.sentAt = Date.now() - ACK_TIMEOUT_MS + (Number(frame.retry_after) || 2) * 1000;
    } else if (item) {
      dropFromOutbox(item.client_id);
      const li = state.byClientId.get(item.client_id);
      if (li) setDelivery(li, t("not_sent", { reason: frame.message || frame.code }), true);
    }
    say(frame.message || frame.code, true);
  }

  Object.assign(P, {
    SITE, LOCALE, T, FRAME, HOST, KEYS, OPEN, numbers, t, timeOf, ui, store, borrowed, state, config,
    freshState, post, emit, send, hasLocalStorage: Boolean(local),
    say, saveOutbox, dropFromOutbox, queueMessage, submit, onInput, stopTyping, ensureConnected, grow, tooLong,
  });
})();
