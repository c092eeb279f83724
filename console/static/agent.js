// Agent console. Speaks the v1 wire protocol (docs/protocol.md) over a JSON WebSocket that the
// session cookie from /login authenticates. User text only ever reaches the page as text nodes.
"use strict";

(() => {
  const root = document.getElementById("console");
  const me = { id: root.dataset.agentId, name: root.dataset.agentName };
  const STORE_KEY = `cs:agent:${me.id}`;
  // Transcripts are cached per tab so that a reload resumes from the cursors instead of
  // replaying every conversation; this many messages per conversation are kept.
  const TRANSCRIPT_LIMIT = 200;
  const TYPING_EVERY_MS = 1000;
  const ACK_TIMEOUT_MS = 10000;
  const CLOSED = new Set(["resolved", "missed", "abandoned", "closed"]);

  const q = (id) => root.querySelector(`[data-testid="${id}"]`);
  const ui = {
    load: q("load"), status: q("agent-status"), queue: q("queue"), queueCount: q("queue-count"),
    queueEmpty: q("queue-empty"), convs: q("conversations"), convsEmpty: q("conversations-empty"),
    placeholder: q("thread-placeholder"), body: root.querySelector(".thread-body"),
    title: q("thread-title"), resolve: q("resolve"), messages: q("messages"),
    details: q("visitor-details"), typing: q("typing"), form: q("composer-form"),
    composer: q("composer"), send: q("send"), line: q("status-line"),
  };

  const saved = (() => {
    try { return JSON.parse(sessionStorage.getItem(STORE_KEY)) || {}; } catch { return {}; }
  })();

  const state = {
    ws: null, ready: false, attempt: 0, reconnectTimer: null,
    wanted: saved.status === "away" ? "away" : "online", // the status we announce in hello
    capacity: Number(root.dataset.agentCapacity) || 0,
    queue: [], convs: new Map(), selected: null,
    outbox: new Map(), // client_id -> {client_id, conversation_id, text, ts, sentAt}
    cursors: saved.cursors || {}, // conversation id -> last message id seen
    transcripts: saved.transcripts || {}, // conversation id -> cached messages, until restored
  };

  const { compareIds, newClientId, timeOf, el, setDelivery, placeInOrder } = window.ChatCommon;

  const visitorLabel = (v) => (v && (v.name || v.email)) ||
    (v && v.id ? `Visitor ${String(v.id).slice(-4)}` : "Visitor");

  let saveTimer = null;
  const saveSoon = () => { saveTimer = saveTimer || setTimeout(save, 500); };
  function save() {
    clearTimeout(saveTimer);
    saveTimer = null;
    const cursors = {};
    const transcripts = {};
    for (const conv of state.convs.values()) {
      if (CLOSED.has(conv.status) || !conv.cursor) continue;
      cursors[conv.id] = conv.cursor;
      transcripts[conv.id] = [...conv.messages.values()]
        .sort((a, b) => compareIds(a.id, b.id)).slice(-TRANSCRIPT_LIMIT);
    }
    for (const [id, cached] of Object.entries(state.transcripts)) { // not restored yet
      if (state.cursors[id]) cursors[id] = state.cursors[id];
      transcripts[id] = cached;
    }
    state.cursors = cursors;
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify({ cursors, transcripts, status: state.wanted }));
    } catch { /* full or disabled: a reload then replays more, nothing breaks */ }
  }
  window.addEventListener("pagehide", save);

  function conversation(id, summary) {
    let conv = state.convs.get(id);
    if (!conv) {
      conv = {
        id, status: "assigned", visitor: null, unread: 0, cursor: null, synced: false,
        typing: "", draft: "", preview: "",
        list: el("ol", { className: "messages", testid: "messages", ariaLabel: "Messages" }),
        byId: new Map(), byClientId: new Map(), messages: new Map(),
        item: el("li", { testid: "conversation" }),
      };
      conv.item.dataset.id = id;
      conv.item.addEventListener("click", () => select(conv.id));
      state.convs.set(id, conv);
      ui.convs.append(conv.item);
      for (const msg of state.transcripts[id] || []) addMessage(conv, msg);
      delete state.transcripts[id];
    }
    if (summary && summary.status) conv.status = summary.status;
    if (summary && summary.visitor) conv.visitor = summary.visitor;
    refresh(conv);
    return conv;
  }

  function removeConversation(conv) {
    conv.item.remove();
    state.convs.delete(conv.id);
    if (state.selected === conv.id) select(null);
    refreshTotals();
    saveSoon();
  }

  // Re-render a conversation's sidebar entry and, when it is open, the thread around it.
  function refresh(conv) {
    const closed = CLOSED.has(conv.status);
    const badge = el("span", { className: "unread", testid: "unread" }, String(conv.unread));
    badge.hidden = !conv.unread;
    conv.item.className = `conv${state.selected === conv.id ? " selected" : ""}${closed ? " closed" : ""}`;
    conv.item.replaceChildren(el("button", { type: "button", className: "conv-button" },
      el("span", { className: "conv-name", dir: "auto" }, visitorLabel(conv.visitor)), badge,
      el("span", { className: "conv-preview", dir: "auto" },
        closed ? "Resolved" : conv.typing ? "typing…" : conv.preview)));
    refreshTotals();
    if (state.selected !== conv.id) return;
    ui.title.textContent = visitorLabel(conv.visitor);
    ui.resolve.textContent = closed ? "Close" : "Resolve";
    ui.composer.disabled = ui.send.disabled = closed;
    ui.composer.placeholder = closed ? "This chat is resolved."
      : "Write a reply… (Enter sends, Shift+Enter for a new line)";
    ui.typing.hidden = !conv.typing;
    ui.typing.textContent = conv.typing ? `Visitor is typing: ${conv.typing}` : "";
    // Show whatever the server knows about the visitor; nested objects read as "page url".
    const rows = [];
    const walk = (obj, prefix) => {
      for (const [key, value] of Object.entries(obj || {})) {
        const label = `${prefix}${key.replaceAll("_", " ")}`;
        if (value === null || value === undefined || value === "") continue;
        if (typeof value === "object" && !Array.isArray(value)) { walk(value, `${label} `); continue; }
        const text = /(_at|_seen)$/.test(key) && typeof value === "number"
          ? new Date(value).toLocaleString() : String(value);
        rows.push(el("dt", {}, label), el("dd", { dir: "auto" }, text));
      }
    };
    walk(conv.visitor, "");
    ui.details.replaceChildren(...rows);
  }

  function refreshTotals() {
    const convs = [...state.convs.values()];
    ui.convsEmpty.hidden = convs.length > 0;
    const unread = convs.reduce((n, c) => n + c.unread, 0);
    document.title = unread ? `(${unread}) Chat console` : "Chat console";
    ui.load.textContent = `${convs.filter((c) => !CLOSED.has(c.status)).length} / ${state.capacity}`;
  }

  function select(id) {
    const previous = state.convs.get(state.selected);
    if (previous) previous.draft = ui.composer.value;
    stopTyping();
    state.selected = id;
    const conv = state.convs.get(id);
    ui.placeholder.hidden = Boolean(conv);
    ui.body.hidden = !conv;
    if (previous) refresh(previous);
    if (!conv) return;
    conv.unread = 0;
    ui.messages.replaceWith(conv.list);
    ui.messages = conv.list;
    ui.composer.value = conv.draft;
    refresh(conv);
    conv.list.scrollTop = conv.list.scrollHeight;
  }

  function buildMessage(msg) {
    if (msg.from === "system") {
      return el("li", { className: "msg msg-system", testid: "system-message" },
        el("span", { dir: "auto" }, msg.text || ""));
    }
    const mine = msg.from === "agent" && (!msg.author || msg.author.id === me.id);
    const who = msg.from === "visitor" ? "Visitor" : mine ? "You" : (msg.author && msg.author.name) || "Agent";
    const meta = el("div", { className: "meta" }, `${who} · ${timeOf(msg.ts)}`);
    if (mine) meta.append(" · ", el("span", { className: "delivery", testid: "message-state" }));
    const li = el("li", { className: `msg ${mine ? "msg-mine" : "msg-theirs"}`, testid: "message" },
      el("div", { className: "bubble", dir: "auto", testid: "message-text" }, msg.text || ""), meta);
    li.dataset.from = msg.from;
    return li;
  }

  function record(conv, msg) {
    const { id, client_id, from, author, text, ts, event } = msg;
    conv.messages.set(id, { id, client_id, from, author, text, ts, event });
    if (!conv.cursor || compareIds(id, conv.cursor) > 0) {
      conv.cursor = id;
      if (from !== "system") conv.preview = text;
    }
    saveSoon();
  }

  // True when the message is new here: each arrives once as a message, and our own also as
  // an ack, in either order.
  function addMessage(conv, msg) {
    if (!msg.id || conv.byId.has(msg.id)) return false;
    const own = msg.client_id && conv.byClientId.get(msg.client_id);
    if (own) {
      if (!own.dataset.id) confirmOwn(conv, own, msg);
      return false;
    }
    const li = buildMessage(msg);
    li.dataset.id = msg.id;
    setDelivery(li, "sent");
    conv.byId.set(msg.id, li);
    if (msg.client_id && msg.from === "agent") conv.byClientId.set(msg.client_id, li);
    placeInOrder(conv.list, li);
    record(conv, msg);
    return true;
  }

  function confirmOwn(conv, li, msg) {
    li.dataset.id = msg.id;
    conv.byId.set(msg.id, li);
    setDelivery(li, "sent");
    li.remove();
    placeInOrder(conv.list, li);
    state.outbox.delete(msg.client_id);
    record(conv, { ...msg, from: "agent", author: { id: me.id, name: me.name } });
    refresh(conv);
  }

  function transmit(item) {
    if (!state.ready) return; // the next welcome flushes the outbox
    item.sentAt = Date.now();
    const { conversation_id, client_id, text } = item;
    send({ type: "message", conversation_id, client_id, text });
  }

  // No ack means "not stored": retry with the same client_id, the server deduplicates.
  setInterval(() => {
    for (const item of state.outbox.values()) {
      if (state.ready && Date.now() - (item.sentAt || 0) > ACK_TIMEOUT_MS) transmit(item);
    }
  }, 2000);

  function submit() {
    const conv = state.convs.get(state.selected);
    const text = ui.composer.value.trim();
    if (!conv || !text || CLOSED.has(conv.status)) return;
    const item = { client_id: newClientId(), conversation_id: conv.id, text, ts: Date.now() };
    state.outbox.set(item.client_id, item);
    const li = buildMessage({ from: "agent", text, ts: item.ts });
    setDelivery(li, "sending…");
    conv.byClientId.set(item.client_id, li);
    placeInOrder(conv.list, li);
    ui.composer.value = conv.draft = "";
    stopTyping();
    transmit(item);
  }

  // Agents send no preview (it only reaches agents), so a leading-edge throttle is enough;
  // repeating "true" while typing keeps the visitor's indicator from timing out.
  const typing = { lastSent: 0, conv: null };

  function onInput() {
    const conv = state.convs.get(state.selected);
    if (!ui.composer.value.trim() || !conv || CLOSED.has(conv.status)) return stopTyping();
    if (Date.now() - typing.lastSent < TYPING_EVERY_MS) return;
    typing.lastSent = Date.now();
    typing.conv = conv.id;
    send({ type: "typing", conversation_id: conv.id, state: true });
  }

  function stopTyping() {
    if (typing.conv) send({ type: "typing", conversation_id: typing.conv, state: false });
    typing.conv = null;
    typing.lastSent = 0;
  }

  function showVisitorTyping(conv, preview) {
    clearTimeout(conv.typingTimer);
    conv.typing = preview;
    // A lost "state: false" must not leave the indicator up forever.
    if (preview) conv.typingTimer = setTimeout(() => showVisitorTyping(conv, ""), 8000);
    refresh(conv);
  }

  function renderQueue() {
    ui.queue.replaceChildren(...state.queue.map((item) => {
      const take = el("button", { type: "button", className: "button primary small", testid: "take" }, "Take");
      take.addEventListener("click", () => {
        take.disabled = true;
        take.textContent = "Taking…";
        send({ type: "claim", conversation_id: item.id });
      });
      const page = (item.visitor && item.visitor.page) || {};
      const li = el("li", { className: "queue-item", testid: "queue-item" },
        el("div", { className: "queue-head" },
          el("span", { className: "conv-name", dir: "auto" }, visitorLabel(item.visitor)),
          el("span", { className: "wait" }, item.queued_at ? `since ${timeOf(item.queued_at)}` : "")),
        el("p", { className: "conv-preview", dir: "auto" }, item.preview || ""),
        el("p", { className: "queue-page", dir: "auto" }, page.title || page.url || ""),
        take);
      li.dataset.id = item.id;
      return li;
    }));
    ui.queueCount.textContent = String(state.queue.length);
    ui.queueEmpty.hidden = state.queue.length > 0;
  }

  function renderStatus(status) {
    ui.status.dataset.status = status;
    ui.status.textContent = { online: "Online", away: "Away" }[status] || "Offline";
    ui.status.setAttribute("aria-pressed", String(status === "online"));
    ui.status.title = status === "online" ? "Click to go away" : "Click to go online";
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

  function send(frame) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/agent`);
    state.ws = ws;
    state.ready = false;
    ws.onopen = () => {
      const cursors = {};
      // A cursor from before a reload only counts together with its cached transcript.
      for (const id of Object.keys(state.transcripts)) if (state.cursors[id]) cursors[id] = state.cursors[id];
      for (const conv of state.convs.values()) if (conv.cursor) cursors[conv.id] = conv.cursor;
      ws.send(JSON.stringify({ type: "hello", cursors, status: state.wanted }));
    };
    ws.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (ws === state.ws && frame && typeof frame === "object") handle(frame);
    };
    ws.onclose = (event) => {
      if (ws !== state.ws) return;
      state.ws = null;
      state.ready = false;
      typing.conv = null;
      renderStatus("offline");
      if (event.code === 4401) return say("Your session has ended. Reload the page to sign in again.");
      let delay = ws.reconnectAfter;
      if (delay === undefined) {
        // Full jitter, so that a restarted server is not hit by every console at once.
        const ceiling = Math.min(30000, 500 * 2 ** state.attempt++);
        delay = ceiling / 2 + Math.random() * (ceiling / 2);
      }
      say(`Connection lost — reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
      state.reconnectTimer = setTimeout(connect, delay);
    };
  }
  window.addEventListener("online", () => !state.ws && state.reconnectTimer && connect());
  setInterval(() => state.ready && send({ type: "ping" }), 25000);

  function onWelcome(frame) {
    state.ready = true;
    state.attempt = 0;
    say("");
    const agent = frame.agent || {};
    Object.assign(me, agent.id ? { id: agent.id } : {}, agent.name ? { name: agent.name } : {});
    if (agent.capacity !== undefined) state.capacity = agent.capacity;
    renderStatus(agent.status || state.wanted);
    const listed = new Set((frame.conversations || []).map((s) => conversation(s.id, s).id));
    // Gone while we were away (resolved, transferred): keep only the one on screen.
    for (const conv of [...state.convs.values()]) {
      if (listed.has(conv.id)) continue;
      if (conv.id !== state.selected) removeConversation(conv);
      else { conv.status = "closed"; refresh(conv); }
    }
    state.transcripts = {};
    state.queue = frame.queue || [];
    renderQueue();
    if (!state.selected && state.convs.size) select(state.convs.keys().next().value);
    for (const item of state.outbox.values()) transmit(item);
  }

  function handle(frame) {
    const conv = frame.conversation_id && state.convs.get(frame.conversation_id);
    switch (frame.type) {
      case "welcome":
        return onWelcome(frame);
      case "message": {
        const target = conv || conversation(frame.conversation_id);
        if (frame.from === "visitor") showVisitorTyping(target, "");
        if (!addMessage(target, frame)) return;
        // Only live visitor messages in other conversations count as unread.
        if (target.synced && frame.from === "visitor" && state.selected !== target.id) target.unread += 1;
        return refresh(target);
      }
      case "synced": // the replay is over: what comes now is live
        if (conv) conv.synced = true;
        return;
      case "ack": {
        const item = state.outbox.get(frame.client_id);
        const target = conv || (item && state.convs.get(item.conversation_id));
        const li = target && target.byClientId.get(frame.client_id);
        if (li && !li.dataset.id) confirmOwn(target, li, { ...frame, text: item ? item.text : "" });
        state.outbox.delete(frame.client_id);
        return;
      }
      case "assigned": {
        const target = conversation(frame.conversation_id, frame.conversation);
        state.queue = state.queue.filter((item) => item.id !== target.id);
        renderQueue();
        const current = state.convs.get(state.selected);
        if (!current || CLOSED.has(current.status)) select(target.id);
        return;
      }
      case "queue":
        if (Array.isArray(frame.items)) state.queue = frame.items;
        return renderQueue();
      case "typing":
        if (conv && frame.from === "visitor") showVisitorTyping(conv, frame.state ? frame.preview || "…" : "");
        return;
      case "resolved":
        if (!conv) return;
        conv.status = "resolved";
        showVisitorTyping(conv, ""); // also re-renders
        return saveSoon();
      case "visitor":
        if (conv) conv.visitor = frame.visitor;
        return conv && refresh(conv);
      case "status":
        if (frame.status) renderStatus(frame.status);
        if (frame.capacity !== undefined) state.capacity = frame.capacity;
        return refreshTotals();
      case "reconnect": {
        const after = Number(frame.after_ms) || 250;
        if (state.ws) state.ws.reconnectAfter = after + Math.random() * after * 0.5;
        return state.ws && state.ws.close(1000);
      }
      case "error":
        return onError(frame);
      default:
        return; // pong, read receipts, frames from newer servers
    }
  }

  function onError(frame) {
    const item = frame.ref && state.outbox.get(frame.ref);
    if (item && (frame.code === "rate_limited" || frame.code === "unavailable")) {
      // Not stored: the retry loop sends it again once the wait is over.
      item.sentAt = Date.now() - ACK_TIMEOUT_MS + (Number(frame.retry_after) || 2) * 1000;
    } else if (item) {
      state.outbox.delete(item.client_id);
      const li = state.convs.get(item.conversation_id)?.byClientId.get(item.client_id);
      if (li) setDelivery(li, `not sent: ${frame.message || frame.code}`, true);
    }
    if (["conflict", "capacity", "not_found"].includes(frame.code)) renderQueue(); // re-enables Take
    say(frame.message || `Error: ${frame.code}`, true);
  }

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
    ui.composer.focus();
  });
  ui.composer.addEventListener("keydown", (event) => {
    // isComposing: the Enter that confirms an IME candidate must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  ui.composer.addEventListener("input", onInput);
  ui.composer.addEventListener("blur", stopTyping);
  ui.resolve.addEventListener("click", () => {
    const conv = state.convs.get(state.selected);
    if (conv && CLOSED.has(conv.status)) removeConversation(conv);
    else if (conv) send({ type: "resolve", conversation_id: conv.id });
  });
  ui.status.addEventListener("click", () => {
    if (!state.ready) return;
    state.wanted = ui.status.dataset.status === "online" ? "away" : "online";
    send({ type: "status", status: state.wanted });
    saveSoon();
  });

  renderStatus("offline");
  ui.status.textContent = "Connecting…";
  renderQueue();
  refreshTotals();
  say("Connecting…");
  connect();
})();
