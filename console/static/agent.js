// Agent console. Speaks the v1 wire protocol (docs/protocol.md) over a JSON WebSocket that the
// session cookie from /login authenticates. User text only ever reaches the page as text nodes.
// Panels (visitor details, transfer): agent-panels.js; canned responses (the picker, "My
// canned responses"): agent-canned.js; composer, buttons,
// shortcuts, settings: agent-input.js; watching, whispering, joining, taking over:
// agent-supervise.js; snoozing: agent-snooze.js; labels: agent-labels.js; helpers: console-kit.js; strings: i18n.js.
"use strict";

(() => {
  const root = document.getElementById("console");
  const me = { id: root.dataset.agentId, name: root.dataset.agentName };
  const STORE_KEY = `cs:agent:${me.id}`;
  const SLA_MS = (Number(root.dataset.slaNextResponse) || 0) * 1000;
  // The server's state sets (chatserver.core.states, rendered into agent.html); "closed" is
  // ours: a chat gone from the server's list while it is still on screen.
  const states = (name) => root.dataset[name].split(" ");
  const CLOSED = new Set([...states("closedStates"), "closed"]);
  const HANDLED = new Set(states("handledStates"));

  const { compareIds, el, setDelivery, placeInOrder } = window.ChatCommon;
  const kit = window.ConsoleKit;
  const panels = window.AgentPanels;
  const { t } = window.I18n;

  const q = (id) => root.querySelector(`[data-testid="${id}"]`);
  const ui = {
    load: q("load"), status: q("agent-status"), queue: q("queue"), queueCount: q("queue-count"),
    queueEmpty: q("queue-empty"), convs: q("conversations"), convsEmpty: q("conversations-empty"),
    convsCount: q("conversations-count"), placeholder: q("thread-placeholder"),
    body: root.querySelector(".thread-body"), title: q("thread-title"), threadStatus: q("thread-status"),
    resolve: q("resolve"), reopen: q("reopen"), transfer: q("transfer"), messages: q("messages"),
    typing: q("typing"), form: q("composer-form"), composer: q("composer"), send: q("send"),
    modeReply: q("mode-reply"), modeNote: q("mode-note"), line: q("status-line"),
    sound: q("setting-sound"), desktop: q("setting-desktop"),
  };

  const saved = window.AgentParts.loadSession(STORE_KEY);

  const state = {
    ready: false, clockSkew: 0,
    // The status we announce in hello: supervisors and admins take chats only once they say so.
    wanted: ["online", "away"].includes(saved.status) ? saved.status
      : root.dataset.agentRole === "agent" ? "online" : "away",
    capacity: Number(root.dataset.agentCapacity) || 0, role: root.dataset.agentRole,
    convs: new Map(), selected: null, mode: "reply",
    watchWanted: saved.watching || [], // chats to watch (agent-supervise.js)
    outbox: new Map(), // client_id -> {client_id, conversation_id, text, kind, ts, sentAt}
    cursors: saved.cursors || {}, // conversation id -> last message id seen
    transcripts: saved.transcripts || {}, // conversation id -> cached messages, until restored
    seen: saved.seen || {}, // conversation id -> the last message id the visitor has read
  };
  const now = () => Date.now() + state.clockSkew;
  const reads = kit.readMarkers(me.id, () => { for (const conv of state.convs.values()) recount(conv); });

  const visitorLabel = (v) => (v && (v.name || v.email)) ||
    (v && v.id ? t("console.visitor_n", { id: String(v.id).slice(-4) }) : t("console.visitor"));

  let saveTimer = null;
  const saveSoon = () => { saveTimer = saveTimer || setTimeout(save, 500); };
  function save() {
    clearTimeout(saveTimer);
    saveTimer = null;
    window.AgentParts.saveSession(STORE_KEY, state, CLOSED);
  }
  window.addEventListener("pagehide", save);

  // --- conversations -----------------------------------------------------------------------
  function conversation(id, summary) {
    let conv = state.convs.get(id);
    if (!conv) {
      conv = {
        id, status: "assigned", visitor: null, department: "", unread: 0, cursor: null,
        synced: false, typing: "", draft: "", preview: "", unansweredSince: null, lastAt: 0,
        watching: supervise.wants(id), holder: null, participants: [], agentTyping: null, snooze: null,
        list: el("ol", { className: "messages", testid: "messages", ariaLabel: t("console.messages") }),
        byId: new Map(), byClientId: new Map(), messages: new Map(),
        item: el("li", { testid: "conversation" }),
      };
      conv.list.setAttribute("aria-live", "polite");
      conv.item.dataset.id = id;
      conv.item.addEventListener("click", () => select(conv.id));
      state.convs.set(id, conv);
      ui.convs.append(conv.item);
      for (const msg of state.transcripts[id] || []) addMessage(conv, msg);
      delete state.transcripts[id];
    }
    if (summary) {
      if (summary.status) conv.status = summary.status;
      if (summary.visitor) conv.visitor = summary.visitor;
      if (summary.department !== undefined) conv.department = summary.department;
      if (summary.unanswered_since !== undefined) conv.unansweredSince = summary.unanswered_since;
      // The visitor left an e-mail and the team was alerted: they wait for a reply by mail.
      if (summary.awaiting_email_reply !== undefined) conv.awaitingEmail = summary.awaiting_email_reply;
      if (summary.agent !== undefined) conv.holder = summary.agent;
      if (summary.agent && summary.agent.id === me.id) conv.watching = false; // ours now
      if (Array.isArray(summary.participants)) conv.participants = summary.participants;
      if (!conv.preview && summary.preview) conv.preview = summary.preview;
      snooze.fromSummary(conv, summary);
      labels.fromSummary(conv, summary);
      conv.lastAt = Math.max(conv.lastAt, summary.assigned_at || summary.created_at || 0);
    }
    refresh(conv);
    return conv;
  }

  function removeConversation(conv) {
    conv.item.remove();
    state.convs.delete(conv.id);
    if (state.selected === conv.id) select(nextConversation(conv.id));
    refreshTotals();
    saveSoon();
  }

  // Open chats whose visitor waits longest come first, then the rest by last activity;
  // ended chats last.
  function ordered() {
    const rank = (c) => (CLOSED.has(c.status) ? 2 : c.unansweredSince ? 0 : 1);
    return [...state.convs.values()].sort((a, b) => rank(a) - rank(b) ||
      (rank(a) === 0 ? a.unansweredSince - b.unansweredSince : b.lastAt - a.lastAt));
  }

  function nextConversation(excluding) {
    const open = ordered().filter((c) => c.id !== excluding && !CLOSED.has(c.status) && !snooze.isSnoozed(c));
    return open.length ? open[0].id : null;
  }

  function waitingText(conv) {
    return conv.unansweredSince && !CLOSED.has(conv.status) ? t("console.waiting_for", { time: kit.duration(now() - conv.unansweredSince) }) : "";
  }

  // Re-render a conversation's sidebar entry and, when it is open, the thread around it.
  function refresh(conv) {
    const closed = CLOSED.has(conv.status);
    const badge = el("span", { className: "unread", testid: "unread" }, String(conv.unread));
    badge.hidden = !conv.unread;
    badge.setAttribute("aria-label", t("console.unread", { n: conv.unread }));
    const button = el("button", { type: "button", className: "conv-button" },
      kit.user(el("span", { className: "conv-name", dir: "auto" }, visitorLabel(conv.visitor))), badge,
      kit.user(el("span", { className: "conv-preview", dir: "auto" },
        closed ? panels.statusLabel(conv.status) : conv.typing ? t("console.typing") : conv.preview), !closed && !conv.typing),
      el("span", { className: "conv-wait", testid: "waiting" }));
    if (conv.awaitingEmail) button.append(el("span", { className: "mail-mark", testid: "awaiting-email" }, t("console.awaiting_email")));
    supervise.decorate(conv, button);
    snooze.decorate(conv, button);
    labels.decorate(conv, button);
    conv.item.replaceChildren(button);
    tick(conv);
    if (state.selected !== conv.id) return refreshTotals();
    ui.title.textContent = visitorLabel(conv.visitor);
    ui.threadStatus.textContent = panels.statusLabel(conv.status) + (conv.department ? ` · ${conv.department}` : "") +
      (conv.awaitingEmail ? ` · ${t("console.awaiting_email")}` : "");
    ui.resolve.textContent = closed ? t("common.close") : t("console.resolve");
    ui.resolve.title = closed ? t("console.remove_from_list") : "";
    ui.reopen.hidden = !closed;
    ui.transfer.hidden = closed;
    ui.composer.disabled = ui.send.disabled = closed;
    controls.setMode(supervise.fitMode(conv, state.mode));
    if (closed) ui.composer.placeholder = t("console.ended_placeholder");
    const typing = [conv.typing ? t("console.visitor_typing", { text: conv.typing }) : "", supervise.typingLine(conv)];
    ui.typing.textContent = typing.filter(Boolean).join(" · ");
    ui.typing.hidden = !ui.typing.textContent;
    supervise.renderThread(conv);
    snooze.renderThread(conv);
    labels.renderThread(conv);
    details.show(conv);
    refreshTotals();
  }

  // The waiting time and its highlight past the site's next-response target.
  function tick(conv) {
    const closed = CLOSED.has(conv.status);
    const late = Boolean(SLA_MS && conv.unansweredSince && !closed && now() - conv.unansweredSince > SLA_MS);
    conv.item.className = `conv${state.selected === conv.id ? " selected" : ""}${closed ? " closed" : ""}${late ? " late" : ""}${conv.watching ? " watched" : ""}`;
    const wait = conv.item.querySelector(".conv-wait");
    if (wait) wait.textContent = waitingText(conv);
  }

  // Own chats (the snoozed ones in their group), then the ones watched in their own list.
  const openCount = () => ordered().filter((c) => !c.watching && !CLOSED.has(c.status)).length;
  let listOrder = "";
  function refreshTotals() {
    const all = ordered();
    const own = all.filter((c) => !c.watching);
    const convs = own.filter((c) => !snooze.isSnoozed(c));
    const order = all.map((c) => `${c.watching ? "w" : snooze.isSnoozed(c) ? "s" : ""}${c.id}`).join();
    if (order !== listOrder) {
      listOrder = order;
      ui.convs.append(...convs.map((c) => c.item));
      snooze.renderList(own.filter((c) => snooze.isSnoozed(c)));
      supervise.renderList(all.filter((c) => c.watching));
    }
    ui.convsEmpty.hidden = convs.length > 0;
    ui.convsCount.textContent = kit.num(convs.filter((c) => !CLOSED.has(c.status)).length);
    const unread = convs.reduce((n, c) => n + c.unread, 0); // a snoozed chat rings nothing
    document.title = unread ? `(${kit.num(unread)}) ${t("common.brand")}` : t("common.brand");
    const load = openCount(); // snoozed chats still count in the load
    ui.load.textContent = `${kit.num(load)} / ${kit.num(state.capacity)}`;
    ui.load.classList.toggle("full", load >= state.capacity);
  }

  const visible = (conv) => state.selected === conv.id && !document.hidden;

  // Unread: visitor messages after both the agent's read marker (shared by its tabs) and the
  // last agent message (answering means having read).
  function recount(conv) {
    const mark = reads.get(conv.id);
    let unread = 0;
    for (const m of [...conv.messages.values()].sort((a, b) => compareIds(a.id, b.id))) {
      if (m.from === "agent") unread = 0;
      else if (m.from === "visitor" && (!mark || compareIds(m.id, mark) > 0)) unread += 1;
    }
    conv.unread = visible(conv) ? 0 : unread;
    refresh(conv);
  }

  function markRead(conv) {
    conv.unread = 0;
    if (!conv.cursor) return;
    if (reads.set(conv.id, conv.cursor) && !CLOSED.has(conv.status) && state.ready && supervise.mayRead(conv)) {
      const last = [...conv.messages.values()].filter((m) => m.from === "visitor")
        .sort((a, b) => compareIds(b.id, a.id))[0];
      if (last) send({ type: "read", conversation_id: conv.id, id: last.id });
    }
  }

  function select(id) {
    const previous = state.convs.get(state.selected);
    if (previous) previous.draft = ui.composer.value;
    controls.stopTyping();
    canned.close();
    state.selected = id;
    const conv = state.convs.get(id);
    ui.placeholder.hidden = Boolean(conv);
    ui.body.hidden = !conv;
    if (previous) refresh(previous);
    if (!conv) return refreshTotals();
    markRead(conv);
    ui.messages.replaceWith(conv.list);
    ui.messages = conv.list;
    ui.composer.value = conv.draft;
    refresh(conv);
    conv.list.scrollTop = conv.list.scrollHeight;
  }

  // --- messages ----------------------------------------------------------------------------
  const buildMessage = (msg, conv) => window.AgentParts.buildMessage(msg, me.id, visitorLabel(conv.visitor));

  function record(conv, msg) {
    const { id, client_id, from, author, text, ts, event, file } = msg;
    conv.messages.set(id, { id, client_id, from, author, text, ts, event, file });
    if (!conv.cursor || compareIds(id, conv.cursor) > 0) {
      conv.cursor = id;
      conv.lastAt = Math.max(conv.lastAt, ts || 0);
      if (from === "visitor" || from === "agent" || from === "bot") conv.preview = text || (file ? t("console.file_preview", { name: file.name }) : "");
      // The response clock, folded over the stream in order (notes and events leave it).
      if (from === "visitor" && !conv.unansweredSince) conv.unansweredSince = ts;
      if (from === "agent") conv.unansweredSince = null;
      if (HANDLED.has(conv.status) && (from === "visitor" || from === "agent")) {
        conv.status = from === "visitor" ? "waiting_on_agent" : "waiting_on_visitor";
      }
      snooze.onRecord(conv, msg); // a snooze starts, ends, or a message ends it
    }
    saveSoon();
  }

  // True when the message is new here: each arrives once as a message, and our own also as
  // an ack, in either order.
  function addMessage(conv, msg) {
    if (!msg.id || conv.byId.has(msg.id)) return false;
    if (msg.from === "agent" && conv.awaitingEmail && msg.ts >= conv.awaitingEmail) conv.awaitingEmail = null; // answered
    const own = msg.client_id && conv.byClientId.get(msg.client_id);
    if (own) {
      if (!own.dataset.id) confirmOwn(conv, own, msg);
      return false;
    }
    const li = buildMessage(msg, conv);
    li.dataset.id = msg.id;
    setDelivery(li, msg.from === "agent" && seenBy(conv, msg.id) ? t("console.seen") : t("console.sent"));
    conv.byId.set(msg.id, li);
    if (msg.client_id && ["agent", "note", "whisper"].includes(msg.from)) conv.byClientId.set(msg.client_id, li);
    placeInOrder(conv.list, li);
    record(conv, msg);
    if (msg.from === "agent") conv.unread = 0;
    else if (msg.from === "visitor") {
      const mark = reads.get(conv.id);
      if (visible(conv)) markRead(conv);
      else if (!mark || compareIds(msg.id, mark) > 0) conv.unread += 1;
    }
    return true;
  }

  const { seenBy, markSeen } = window.AgentParts.receipts(state, saveSoon);

  function confirmOwn(conv, li, msg) {
    li.dataset.id = msg.id;
    conv.byId.set(msg.id, li);
    setDelivery(li, li.dataset.from === "agent" && seenBy(conv, msg.id) ? t("console.seen") : t("console.sent"));
    li.remove();
    placeInOrder(conv.list, li);
    const item = state.outbox.get(msg.client_id);
    state.outbox.delete(msg.client_id);
    const from = msg.from || { note: "note", whisper: "whisper" }[item && item.kind] || "agent";
    record(conv, { ...msg, from, author: { id: me.id, name: me.name } });
    if (from === "agent") { conv.unread = 0; conv.awaitingEmail = null; } // answered
    refresh(conv);
  }

  function showVisitorTyping(conv, preview) {
    clearTimeout(conv.typingTimer);
    conv.typing = preview;
    // A lost "state: false" must not leave the indicator up forever.
    if (preview) conv.typingTimer = setTimeout(() => showVisitorTyping(conv, ""), 8000);
    refresh(conv);
  }

  // Waiting times move on their own.
  setInterval(() => {
    queue.tick();
    for (const conv of state.convs.values()) tick(conv);
  }, 1000);
  setInterval(() => details.tick(), 30000);

  // --- status and connection ----------------------------------------------------------------
  const say = window.AgentParts.statusLine(ui.line);

  // Reconnects with backoff and jitter, on the server's "reconnect" and when the browser is
  // back online, until the session has ended (widget/socket.js).
  const socket = window.ChatSocket({
    path: "/ws/agent",
    hello() {
      const cursors = {};
      // A cursor from before a reload only counts together with its cached transcript.
      for (const id of Object.keys(state.transcripts)) if (state.cursors[id]) cursors[id] = state.cursors[id];
      for (const conv of state.convs.values()) if (conv.cursor && !conv.watching) cursors[conv.id] = conv.cursor;
      return { type: "hello", cursors, status: state.wanted };
    },
    onFrame: handle,
    onLost(code, delay) {
      state.ready = false;
      controls.connectionLost();
      for (const conv of state.convs.values()) conv.synced = false;
      controls.renderStatus("offline");
      if (code === 4401) {
        say(t("console.session_ended"));
        return false; // signed out: trying again cannot help
      }
      say(t("console.reconnecting", { n: Math.max(1, Math.round(delay / 1000)) }));
      return true;
    },
  });
  const send = socket.send;
  setInterval(() => state.ready && send({ type: "ping" }), 25000);

  function onWelcome(frame) {
    state.ready = true;
    if (frame.server_time) state.clockSkew = frame.server_time - Date.now();
    say("");
    const agent = frame.agent || {};
    Object.assign(me, agent.id ? { id: agent.id } : {}, agent.name ? { name: agent.name } : {});
    if (agent.capacity !== undefined) state.capacity = agent.capacity;
    controls.renderStatus(agent.status || state.wanted);
    const listed = new Set((frame.conversations || []).map((s) => conversation(s.id, s).id));
    // Gone while we were away (resolved, transferred): keep only the one on screen. Watched
    // chats are watched again below.
    for (const conv of [...state.convs.values()]) {
      if (listed.has(conv.id) || conv.watching) continue;
      if (conv.id !== state.selected) removeConversation(conv);
      else { conv.status = CLOSED.has(conv.status) ? conv.status : "closed"; refresh(conv); }
    }
    state.transcripts = {};
    queue.set(frame.queue || [], false);
    if (!state.selected && state.convs.size) select(nextConversation(null));
    supervise.onWelcome(agent);
    controls.flush();
  }

  function handle(frame) {
    const conv = frame.conversation_id && state.convs.get(frame.conversation_id);
    if (supervise.handle(frame, conv) || labels.handle(frame, conv)) return;
    switch (frame.type) {
      case "welcome":
        return onWelcome(frame);
      case "message": {
        if (!conv && supervise.ignored(frame.conversation_id)) return; // a straggler
        const target = conv || conversation(frame.conversation_id);
        if (frame.from === "visitor") showVisitorTyping(target, "");
        if (!addMessage(target, frame)) return;
        supervise.onMessage(target, frame);
        snooze.onMessage(target, frame);
        if (frame.from === "visitor" && target.synced && !visible(target) && !target.watching) {
          kit.alert(`msg:${frame.id}`, visitorLabel(target.visitor), frame.text || "", () => select(target.id));
        }
        return refresh(target);
      }
      case "synced": // the replay is over: what comes now is live
        if (conv) { conv.synced = true; recount(conv); }
        return;
      case "ack": {
        const item = state.outbox.get(frame.client_id);
        const target = conv || (item && state.convs.get(item.conversation_id));
        const li = target && target.byClientId.get(frame.client_id);
        if (li && !li.dataset.id) confirmOwn(target, li, { ...frame, text: item ? item.text : "", file: (item && item.fileMeta) || undefined });
        state.outbox.delete(frame.client_id);
        return;
      }
      case "assigned": {
        const fresh = !conv || CLOSED.has(conv.status);
        const target = conversation(frame.conversation_id, frame.conversation);
        queue.drop(target.id);
        const current = state.convs.get(state.selected);
        if (!current || CLOSED.has(current.status)) select(target.id);
        if (fresh) kit.alert(`assigned:${target.id}:${target.lastAt}`, t("console.new_chat"), visitorLabel(target.visitor), () => select(target.id));
        return;
      }
      case "unassigned": // transferred, sent back to a queue or taken over: no longer ours
        transfer.done(frame.conversation_id);
        if (!conv) return;
        supervise.drop(conv.id);
        say(supervise.unassignedText(frame, conv) ||
          (frame.reason === "transferred" ? t("console.chat_transferred") : t("console.chat_requeued")));
        return removeConversation(conv);
      case "queue":
        if (Array.isArray(frame.items)) queue.set(frame.items, true);
        return;
      case "typing":
        if (conv && frame.from === "visitor") showVisitorTyping(conv, frame.state ? frame.preview || "…" : "");
        return;
      case "read":
        if (conv && frame.from === "visitor") markSeen(conv, frame.id);
        return;
      case "resolved":
        if (!conv) return;
        conv.status = frame.status || "resolved";
        conv.unansweredSince = null;
        showVisitorTyping(conv, ""); // also re-renders
        return saveSoon();
      case "visitor":
        if (conv) conv.visitor = frame.visitor;
        return conv && refresh(conv);
      case "status":
        if (frame.status) controls.renderStatus(frame.status);
        if (frame.capacity !== undefined) state.capacity = frame.capacity;
        return refreshTotals();
      case "error":
        return onError(frame);
      default:
        return; // pong, read receipts, frames from newer servers ("reconnect" is socket.js's)
    }
  }

  function onError(frame) {
    controls.unsent(frame);
    if (transfer.failed(frame) || supervise.failed(frame) || snooze.failed(frame) || labels.failed(frame)) return;
    if (["conflict", "capacity", "not_found"].includes(frame.code)) queue.render(); // re-enables Take
    say(kit.errorText(frame), true);
  }

  // --- panels ------------------------------------------------------------------------------
  const details = panels.createDetails({
    details: q("visitor-details"), history: q("history"), historyList: q("history-list"),
    onReopen: (id) => send({ type: "reopen", conversation_id: id }), closed: CLOSED, now,
  });
  const canned = panels.createCanned({
    textarea: ui.composer, list: q("canned-picker"), onInsert: () => controls.onInput(),
    // A visitor's own name only (not their e-mail) fills {name}.
    names: () => ({ visitor: (state.convs.get(state.selected)?.visitor || {}).name || "", agent: me.name, site: root.dataset.siteName }),
  });
  window.AgentCanned.createMine({ dialog: q("my-canned-dialog"), opener: q("my-canned-button"), onChange: () => canned.reload() });
  const transfer = panels.createTransfer({ dialog: q("transfer-dialog"), me, send });
  const queue = window.AgentParts.createQueue({
    list: ui.queue, count: ui.queueCount, empty: ui.queueEmpty, send, visitorLabel, now,
  });

  // Alerts about a chat (a whisper, a snooze's end) but a snoozed one's.
  const alertFor = (key, title, body, id) => !snooze.isSnoozed(state.convs.get(id)) && kit.alert(key, title, body, () => select(id));
  const controls = window.AgentInput.create({
    ui, state, CLOSED, send, say, saveSoon, canned, transfer, select, removeConversation, buildMessage,
    ordered: () => ordered().filter((c) => !snooze.isSnoozed(c)), // Alt+↑/↓: the working list
    privateMode: (conv) => supervise.privateMode(conv), takeOver: () => supervise.openTakeOver(),
    refreshSelected: () => state.convs.has(state.selected) && refresh(state.convs.get(state.selected)),
  });
  window.AgentFiles.create({ ui, state, CLOSED, say, buildMessage, transmit: (item) => controls.transmit(item) });
  const supervise = window.AgentSupervise.create({
    ui, state, me, send, say, q, CLOSED, transfer, now, visitorLabel, conversation, select, refresh, removeConversation,
    saveSoon, openCount, visible, statusLabel: panels.statusLabel, setMode: (mode) => controls.setMode(mode),
    alert: alertFor,
  });
  const snooze = window.AgentSnooze.create({
    ui, state, me, send, say, q, now, visitorLabel, refresh, visible, alert: alertFor,
  });

  const labels = window.AgentLabels.create({
    state, send, say, q, CLOSED, refresh, refreshAll: () => { for (const c of state.convs.values()) refresh(c); },
  });

  document.addEventListener("visibilitychange", () => {
    const conv = state.convs.get(state.selected);
    if (conv && !document.hidden) { markRead(conv); refresh(conv); }
  });

  controls.renderStatus("offline");
  ui.status.textContent = t("common.connecting");
  controls.setMode("reply");
  queue.render();
  refreshTotals();
  say(t("common.connecting"));
  socket.connect();
})();
