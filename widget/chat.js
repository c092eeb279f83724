// Visitor chat page. Speaks the v1 wire protocol (docs/protocol.md) over a JSON WebSocket.
// User text only ever reaches the page as text nodes.
"use strict";

(() => {
  const SITE = new URLSearchParams(location.search).get("site") || "demo";
  const KEYS = {
    token: `cs:token:${SITE}`, cursor: `cs:cursor:${SITE}`, outbox: `cs:outbox:${SITE}`,
    history: `cs:history:${SITE}`, visitor: `cs:visitor:${SITE}`,
  };
  // The transcript is cached so that a reload resumes from the cursor instead of replaying
  // the whole conversation; beyond this many messages the oldest are dropped.
  const HISTORY_LIMIT = 200;
  const TYPING_EVERY_MS = 1000;
  const ACK_TIMEOUT_MS = 10000;
  const OFFLINE_TEXT = "No agent is online right now; your message is saved and we will " +
    "answer as soon as someone is available.";
  const OPEN = new Set(["queued", "assigned", "waiting_on_agent", "waiting_on_visitor"]);

  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const ui = {
    list: q("messages"), form: q("composer-form"), composer: q("composer"),
    state: q("conversation-status"), queue: q("queue"), typing: q("typing"),
    line: q("status-line"), end: q("end-chat"),
  };

  // Storage can throw (disabled, private mode, quota); the chat must keep working without it.
  const store = {
    get(key) { try { return localStorage.getItem(key); } catch { return null; } },
    set(key, value) { try { localStorage.setItem(key, value); } catch { /* best effort */ } },
    remove(key) { try { localStorage.removeItem(key); } catch { /* best effort */ } },
    json(key, fallback) { try { return JSON.parse(this.get(key)) ?? fallback; } catch { return fallback; } },
  };

  const state = {
    ws: null, ready: false, attempt: 0, reconnectTimer: null, // ready: welcome received
    conversationId: null, status: null, agentName: "",
    byId: new Map(), // message id -> <li>
    byClientId: new Map(), // client_id -> <li> of my own messages
    history: new Map(store.json(KEYS.history, []).map((m) => [m.id, m])),
    outbox: store.json(KEYS.outbox, []), // my messages not acknowledged yet
    cursor: null,
  };

  const { compareIds, newClientId, timeOf, el, setDelivery, placeInOrder } = window.ChatCommon;

  // ---- messages --------------------------------------------------------------------------

  function buildMessage(msg) {
    if (msg.from === "system") {
      const li = el("li", { className: "msg msg-system", testid: "system-message" },
        el("span", { dir: "auto" }, msg.text || ""));
      li.dataset.event = msg.event || "";
      return li;
    }
    const who = msg.from === "agent" ? (msg.author && msg.author.name) || "Agent" : "";
    const meta = el("div", { className: "meta" }, who ? `${who} · ${timeOf(msg.ts)}` : timeOf(msg.ts));
    if (msg.from === "visitor") meta.append(" · ", el("span", { className: "delivery", testid: "message-state" }));
    const li = el("li", { className: `msg msg-${msg.from}`, testid: "message" },
      el("div", { className: "bubble", dir: "auto", testid: "message-text" }, msg.text || ""), meta);
    li.dataset.from = msg.from;
    return li;
  }

  function showMessage(msg) {
    if (state.byId.has(msg.id)) return;
    // My own message comes back twice (ack and echo), in either order.
    const own = msg.client_id && state.byClientId.get(msg.client_id);
    if (own) {
      if (!own.dataset.id) confirmOwn(own, msg);
      return;
    }
    const li = buildMessage(msg);
    li.dataset.id = msg.id;
    setDelivery(li, "sent");
    state.byId.set(msg.id, li);
    if (msg.from === "visitor" && msg.client_id) state.byClientId.set(msg.client_id, li);
    placeInOrder(ui.list, li);
    remember(msg);
  }

  function confirmOwn(li, msg) {
    li.dataset.id = msg.id;
    state.byId.set(msg.id, li);
    setDelivery(li, "sent");
    li.remove();
    placeInOrder(ui.list, li);
    dropFromOutbox(msg.client_id);
    remember({ ...msg, from: "visitor" });
  }

  function showPending(item) {
    const li = buildMessage({ from: "visitor", text: item.text, ts: item.ts });
    setDelivery(li, "sending…");
    state.byClientId.set(item.client_id, li);
    placeInOrder(ui.list, li);
  }

  function remember(msg) {
    const { id, client_id, from, author, text, ts, event } = msg;
    state.history.set(id, { id, client_id, from, author, text, ts, event });
    if (!state.cursor || compareIds(id, state.cursor) > 0) {
      state.cursor = id;
      store.set(KEYS.cursor, id);
    }
    saveHistorySoon();
  }

  let historyTimer = null;
  const saveHistorySoon = () => { historyTimer = historyTimer || setTimeout(saveHistory, 300); };
  function saveHistory() {
    clearTimeout(historyTimer);
    historyTimer = null;
    const kept = [...state.history.values()].sort((a, b) => compareIds(a.id, b.id)).slice(-HISTORY_LIMIT);
    state.history = new Map(kept.map((m) => [m.id, m]));
    store.set(KEYS.history, JSON.stringify(kept));
  }
  window.addEventListener("pagehide", saveHistory);

  // A new visitor identity (expired token) owns none of the cached transcript.
  function forgetTranscript() {
    for (const map of [state.history, state.byId, state.byClientId]) map.clear();
    state.cursor = null;
    ui.list.replaceChildren();
    store.remove(KEYS.history);
    store.remove(KEYS.cursor);
    for (const item of state.outbox) showPending(item);
  }

  // ---- conversation state ----------------------------------------------------------------

  function renderState(text) {
    const open = OPEN.has(state.status);
    if (text) ui.state.textContent = text;
    else if (state.status === "queued") ui.state.textContent = "Waiting for an agent…";
    else if (open) ui.state.textContent = `You are chatting with ${state.agentName || "an agent"}`;
    else if (state.status) {
      const ended = state.status === "resolved" ? "This chat was resolved." : "This chat has ended.";
      ui.state.textContent = `${ended} Write again any time to start a new one.`;
    } else ui.state.textContent = "Write us a message and we will get back to you.";
    ui.end.hidden = !open;
    if (state.status !== "queued") ui.queue.hidden = true;
    if (!open) showTyping(false);
  }

  function showQueue(frame) {
    // A late queue update must not hide that an agent already took the chat.
    if (OPEN.has(state.status) && state.status !== "queued") return;
    state.status = "queued";
    renderState();
    let text = OFFLINE_TEXT;
    if (frame.agents_online !== 0) {
      text = `You are number ${frame.position} in the queue`;
      if (frame.estimated_wait != null) {
        text += ` — about ${Math.max(1, Math.ceil(frame.estimated_wait / 60))} min`;
      }
    }
    ui.queue.textContent = text;
    ui.queue.hidden = false;
  }

  let typingTimer = null;
  function showTyping(on) {
    clearTimeout(typingTimer);
    ui.typing.hidden = !on;
    ui.typing.textContent = on ? `${state.agentName || "The agent"} is typing…` : "";
    // A lost "state: false" must not leave the indicator up forever.
    if (on) typingTimer = setTimeout(() => showTyping(false), 8000);
  }

  // The status line shows the connection state; an error covers it for a few seconds.
  const line = { text: "", timer: null };
  function say(text, error = false) {
    if (!error) line.text = text;
    if (!error && line.timer) return;
    clearTimeout(line.timer);
    ui.line.textContent = text;
    ui.line.classList.toggle("error", error);
    line.timer = error ? setTimeout(() => { line.timer = null; say(line.text); }, 6000) : null;
  }

  // ---- sending ---------------------------------------------------------------------------

  const saveOutbox = () => store.set(KEYS.outbox, JSON.stringify(state.outbox));

  function dropFromOutbox(clientId) {
    const before = state.outbox.length;
    state.outbox = state.outbox.filter((item) => item.client_id !== clientId);
    if (state.outbox.length !== before) saveOutbox();
  }

  function transmit(item) {
    if (!state.ready) return; // the next welcome flushes the outbox
    item.sentAt = Date.now();
    send({ type: "message", client_id: item.client_id, text: item.text });
  }

  // No ack means "not stored": retry with the same client_id, the server deduplicates.
  setInterval(() => {
    for (const item of state.outbox) {
      if (state.ready && Date.now() - (item.sentAt || 0) > ACK_TIMEOUT_MS) transmit(item);
    }
  }, 2000);

  function submit() {
    const text = ui.composer.value.trim();
    if (!text) return;
    const item = { client_id: newClientId(), text, ts: Date.now() };
    state.outbox.push(item);
    saveOutbox();
    showPending(item);
    ui.composer.value = "";
    stopTyping();
    transmit(item);
  }

  const typing = { lastSent: 0, active: false, timer: null };
  const canType = () => state.ready && state.conversationId && OPEN.has(state.status);

  function onInput() {
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

  // ---- connection ------------------------------------------------------------------------

  function send(frame) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
  }

  function hello() {
    const frame = { type: "hello" };
    if (navigator.language) frame.locale = navigator.language.slice(0, 35);
    const token = store.get(KEYS.token);
    if (token) frame.token = token;
    // Resume from the cursor only when the transcript up to it is on screen.
    if (state.cursor && state.history.size) frame.cursor = state.cursor;
    frame.page = { url: location.href.slice(0, 2048), title: document.title.slice(0, 300) };
    if (document.referrer) frame.page.referrer = document.referrer.slice(0, 2048);
    return frame;
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/visitor?site=${encodeURIComponent(SITE)}`);
    state.ws = ws;
    state.ready = false;
    ws.onopen = () => ws.send(JSON.stringify(hello()));
    ws.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (ws === state.ws && frame && typeof frame === "object") handle(frame);
    };
    ws.onclose = (event) => {
      if (ws !== state.ws) return;
      state.ws = null;
      state.ready = false;
      typing.active = false;
      let delay = ws.reconnectAfter;
      if (delay === undefined) {
        // Full jitter, so that a restarted server is not hit by every visitor at once.
        const ceiling = Math.min(30000, 500 * 2 ** state.attempt++);
        delay = ceiling / 2 + Math.random() * (ceiling / 2);
        if (event.code === 4008) delay = Math.max(delay, 10000); // we flooded: back off
      }
      say(delay > 1500 ? `Connection lost — retrying in ${Math.round(delay / 1000)} s…` : "Reconnecting…");
      state.reconnectTimer = setTimeout(connect, delay);
    };
  }

  const reconnectNow = () => !state.ws && state.reconnectTimer && connect();
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => document.hidden || reconnectNow());
  setInterval(() => state.ready && send({ type: "ping" }), 25000);

  function onWelcome(frame) {
    state.ready = true;
    state.attempt = 0;
    if (frame.token) store.set(KEYS.token, frame.token);
    const previous = store.get(KEYS.visitor);
    if (previous && frame.visitor_id && previous !== frame.visitor_id) forgetTranscript();
    if (frame.visitor_id) store.set(KEYS.visitor, frame.visitor_id);
    const conv = frame.conversation;
    state.conversationId = conv ? conv.id : null;
    if (conv) {
      state.status = conv.status;
      if (conv.agent && conv.agent.name) state.agentName = conv.agent.name;
    } else if (OPEN.has(state.status)) {
      state.status = null; // keep "this chat was resolved" after a resolve
    }
    renderState();
    say("");
    for (const item of state.outbox) transmit(item);
  }

  function handle(frame) {
    switch (frame.type) {
      case "welcome":
        return onWelcome(frame);
      case "message":
        if (frame.from === "agent") showTyping(false);
        return showMessage(frame);
      case "ack": {
        if (frame.conversation_id) state.conversationId = frame.conversation_id;
        if (!OPEN.has(state.status)) {
          state.status = "queued"; // the first message after none, or after a resolve
          renderState();
        }
        const li = state.byClientId.get(frame.client_id);
        if (!li || li.dataset.id) return dropFromOutbox(frame.client_id);
        const item = state.outbox.find((i) => i.client_id === frame.client_id);
        return confirmOwn(li, { ...frame, text: item ? item.text : li.querySelector(".bubble").textContent });
      }
      case "queue":
        return showQueue(frame);
      case "assigned":
        state.conversationId = frame.conversation_id || state.conversationId;
        state.status = "assigned";
        state.agentName = (frame.agent && frame.agent.name) || "";
        return renderState(`${state.agentName || "An agent"} joined the chat`);
      case "typing":
        return frame.from === "agent" && showTyping(Boolean(frame.state));
      case "resolved":
        if (frame.conversation_id && frame.conversation_id !== state.conversationId) return;
        stopTyping();
        state.status = "resolved";
        return renderState();
      case "reconnect": {
        const after = Number(frame.after_ms) || 250;
        if (state.ws) state.ws.reconnectAfter = after + Math.random() * after * 0.5;
        return state.ws && state.ws.close(1000);
      }
      case "error":
        return onError(frame);
      default:
        return; // pong, synced, and frames from newer servers need nothing here
    }
  }

  function onError(frame) {
    const item = frame.ref && state.outbox.find((i) => i.client_id === frame.ref);
    if (item && (frame.code === "rate_limited" || frame.code === "unavailable")) {
      // Not stored: the retry loop sends it again once the wait is over.
      item.sentAt = Date.now() - ACK_TIMEOUT_MS + (Number(frame.retry_after) || 2) * 1000;
    } else if (item) {
      dropFromOutbox(item.client_id);
      const li = state.byClientId.get(item.client_id);
      if (li) setDelivery(li, `not sent: ${frame.message || frame.code}`, true);
    }
    say(frame.message || `Error: ${frame.code}`, true);
  }

  // ---- wiring ----------------------------------------------------------------------------

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
    ui.composer.focus();
  });
  ui.composer.addEventListener("keydown", (event) => {
    // isComposing: the Enter that confirms an IME candidate (Persian, CJK…) must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  ui.composer.addEventListener("input", onInput);
  ui.composer.addEventListener("blur", stopTyping);
  ui.end.addEventListener("click", () => send({ type: "resolve" }));

  for (const msg of [...state.history.values()].sort((a, b) => compareIds(a.id, b.id))) showMessage(msg);
  // An item can be both acked (in the history) and still in the outbox if the tab closed between.
  state.outbox = state.outbox.filter((item) => !state.byClientId.has(item.client_id));
  saveOutbox();
  for (const item of state.outbox) showPending(item);
  renderState("Connecting…");
  say("Connecting…");
  connect();
})();
