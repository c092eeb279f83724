// The visitor's chat panel. In the widget it runs in an iframe served by the chat server (mode
// "frame": a launcher opens it, and it talks to the host page's loader only by postMessage with
// an explicit origin); at /chat it is the whole page (mode "page"). Speaks the v1 wire protocol
// (docs/protocol.md) over a JSON WebSocket. What people write only ever reaches the page as
// text nodes (links are built as elements around text).
"use strict";

(() => {
  const BOOT = JSON.parse(document.getElementById("cs-boot").textContent);
  const { site: SITE, locale: LOCALE, strings: T } = BOOT;
  const FRAME = BOOT.mode === "frame";
  const HOST = BOOT.host; // origin of the page that embeds the frame
  let config = BOOT.config;

  const KEYS = {
    token: `cs:token:${SITE}`, cursor: `cs:cursor:${SITE}`, outbox: `cs:outbox:${SITE}`,
    history: `cs:history:${SITE}`, visitor: `cs:visitor:${SITE}`, profile: `cs:profile:${SITE}`,
    lastRead: `cs:read:${SITE}`, agentRead: `cs:agent-read:${SITE}`, ended: `cs:ended:${SITE}`,
  };
  // The transcript is cached so that a reload resumes from the cursor instead of replaying
  // the whole conversation; beyond this many messages the oldest are dropped.
  const HISTORY_LIMIT = 200;
  const TYPING_EVERY_MS = 1000;
  const ACK_TIMEOUT_MS = 10000;
  const CLOSE_ANIMATION_MS = 160;
  const OPEN = new Set(["queued", "assigned", "waiting_on_agent", "waiting_on_visitor"]);
  const TIMEZONE = /^[A-Za-z0-9_+\-/]{1,64}$/;
  const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)");

  const { compareIds, newClientId, el, setDelivery, placeInOrder, linkify } = window.ChatCommon;
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
      try { local.setItem(key, value); } catch { /* best effort */ }
    },
    remove(key) {
      if (!local) {
        borrowed.delete(key);
        return post("store", { key, value: null });
      }
      try { local.removeItem(key); } catch { /* best effort */ }
    },
    json(key, fallback) { try { return JSON.parse(this.get(key)) ?? fallback; } catch { return fallback; } },
  };

  let state = freshState();
  function freshState() {
    return {
    ws: null, ready: false, everReady: false, attempt: 0, reconnectTimer: null, wanted: false,
    conversationId: null, status: null, agentName: "", queue: null, askEmail: false,
    byId: new Map(), // message id -> <li>
    byClientId: new Map(), // client_id -> <li> of my own messages
    history: new Map(store.json(KEYS.history, []).map((m) => [m.id, m])),
    outbox: store.json(KEYS.outbox, []), // my messages not acknowledged yet
    cursor: null,
    profile: store.json(KEYS.profile, {}), // name, email, department the visitor gave
    lastRead: store.get(KEYS.lastRead), // the last agent message the visitor has seen
    agentRead: store.get(KEYS.agentRead), // the agent has read my messages up to here
    ended: store.json(KEYS.ended, null), // {id, agent, rated, dismissed, pending} of the last chat
    known: !store.get(KEYS.token), // whether we know if there is an open conversation
    open: !FRAME, phone: false, page: null, closeTimer: null, readSent: null,
    };
  }

  // ---- messages --------------------------------------------------------------------------

  function systemText(msg) {
    const key = `event_${msg.event}`;
    const name = (msg.author && msg.author.name) || "";
    if (msg.event === "rated") {
      const score = /(\d)\/5/.exec(msg.text || "");
      return score ? t(key, { n: Number(score[1]) }) : msg.text || "";
    }
    if (T[key] && (name || !T[key].includes("{name}"))) return t(key, { name });
    return msg.text || "";
  }

  function buildMessage(msg) {
    if (msg.from === "system") {
      const li = el("li", { className: "msg msg-system", testid: "system-message" },
        el("span", { dir: "auto" }, systemText(msg)));
      li.dataset.event = msg.event || "";
      return li;
    }
    const li = el("li", { className: `msg msg-${msg.from}`, testid: "message" });
    li.dataset.from = msg.from;
    if (msg.from !== "visitor") {
      li.append(el("div", { className: "who", dir: "auto" }, (msg.author && msg.author.name) || t("agent")));
    }
    const meta = el("div", { className: "meta" }, el("time", {}, timeOf(msg.ts)));
    if (msg.from === "visitor") meta.append(" · ", el("span", { className: "delivery", testid: "message-state" }));
    li.append(el("div", { className: "bubble", dir: "auto", testid: "message-text" }, ...linkify(msg.text || "")), meta);
    return li;
  }

  // Cards (receipt and queue, email, rating) stay below the newest message.
  function place(li) {
    placeInOrder(ui.list, li);
    if (!li.dataset.id) {
      for (const card of ui.list.querySelectorAll(":scope > .card")) ui.list.append(card);
      ui.list.scrollTop = ui.list.scrollHeight;
    }
  }

  const delivered = (id) => (state.agentRead && compareIds(id, state.agentRead) <= 0 ? t("read") : t("sent"));

  // Returns true when the message is new to this page.
  function showMessage(msg) {
    if (state.byId.has(msg.id)) return false;
    // My own message comes back twice (ack and echo), in either order.
    const own = msg.client_id && state.byClientId.get(msg.client_id);
    if (own) {
      if (!own.dataset.id) confirmOwn(own, msg);
      return false;
    }
    const li = buildMessage(msg);
    li.dataset.id = msg.id;
    setDelivery(li, delivered(msg.id));
    state.byId.set(msg.id, li);
    if (msg.from === "visitor" && msg.client_id) state.byClientId.set(msg.client_id, li);
    place(li);
    remember(msg);
    return true;
  }

  function confirmOwn(li, msg) {
    li.dataset.id = msg.id;
    state.byId.set(msg.id, li);
    setDelivery(li, delivered(msg.id));
    li.remove();
    place(li);
    dropFromOutbox(msg.client_id);
    remember({ ...msg, from: "visitor" });
  }

  function showPending(item) {
    const li = buildMessage({ from: "visitor", text: item.text, ts: item.ts });
    setDelivery(li, t("sending"));
    state.byClientId.set(item.client_id, li);
    place(li);
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

  function resetList() {
    const greeting = el("li", { className: "msg msg-agent greeting", testid: "greeting" },
      el("div", { className: "who", dir: "auto" }, config.name),
      el("div", { className: "bubble", dir: "auto" }, config.greeting || t("greeting")));
    greeting.dataset.id = "0-0"; // sorts before every message
    ui.list.replaceChildren(greeting, cards.queue, cards.email, cards.rating);
  }

  // A new visitor identity (expired token) owns none of the cached transcript.
  function forgetTranscript() {
    for (const map of [state.history, state.byId, state.byClientId]) map.clear();
    state.cursor = state.lastRead = state.agentRead = state.ended = null;
    resetList();
    for (const key of [KEYS.history, KEYS.cursor, KEYS.lastRead, KEYS.agentRead, KEYS.ended]) store.remove(key);
    for (const item of state.outbox) showPending(item);
  }

  // ---- reading: unread count, read receipts ----------------------------------------------

  const seeing = () => state.open && !document.hidden;
  const agentIds = () => [...state.history.values()].filter((m) => m.from === "agent").map((m) => m.id);

  function unreadCount() {
    return agentIds().filter((id) => !state.lastRead || compareIds(id, state.lastRead) > 0).length;
  }

  let shownUnread = -1;
  function renderBadge() {
    if (!FRAME) return;
    const n = state.open ? 0 : unreadCount();
    ui.badge.hidden = n === 0;
    ui.badge.textContent = numbers.format(n);
    const label = state.open ? t("close_chat") : t("open_chat");
    ui.launcher.setAttribute("aria-label", n ? `${label}, ${t("unread", { n })}` : label);
    if (n !== shownUnread) emit("unread", n);
    shownUnread = n;
  }

  function markRead() {
    if (seeing()) {
      const latest = agentIds().sort(compareIds).pop();
      if (latest && (!state.lastRead || compareIds(latest, state.lastRead) > 0)) {
        state.lastRead = latest;
        store.set(KEYS.lastRead, latest);
      }
      if (state.ready && state.conversationId && OPEN.has(state.status) && state.cursor &&
          state.cursor !== state.readSent) {
        state.readSent = state.cursor;
        send({ type: "read", conversation_id: state.conversationId, id: state.cursor });
      }
    }
    renderBadge();
  }

  function agentRead(id) {
    if (state.agentRead && compareIds(id, state.agentRead) <= 0) return;
    state.agentRead = id;
    store.set(KEYS.agentRead, id);
    for (const li of state.byClientId.values()) if (li.dataset.id) setDelivery(li, delivered(li.dataset.id));
  }

  // ---- cards: receipt and queue, email, rating -------------------------------------------

  function emailForm(testid, onSaved) {
    const input = el("input", { type: "email", name: "email", autocomplete: "email", dir: "ltr", required: true, maxLength: 254 });
    input.setAttribute("aria-label", t("email"));
    const form = el("form", { className: "inline-form", testid, noValidate: true }, input,
      el("button", { type: "submit", className: "primary-button" }, t("save")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const email = input.value.trim();
      input.setAttribute("aria-invalid", String(!email || !input.checkValidity()));
      if (!email || !input.checkValidity()) return input.focus();
      setProfile({ email });
      onSaved();
    });
    return form;
  }

  const cards = {
    queue: el("li", { className: "card queue-card", testid: "queue", hidden: true }),
    email: el("li", { className: "card", testid: "ask-email", hidden: true }),
    rating: el("li", { className: "card rating-card", testid: "rating", hidden: true }),
  };
  cards.email.append(el("p", {}, t("ask_email")), emailForm("email-form", () => render()));

  function renderQueueCard() {
    const show = Boolean(state.conversationId) && state.status === "queued" &&
      [...state.byClientId.values()].some((li) => li.dataset.id);
    cards.queue.hidden = !show;
    if (!show) return;
    const lines = [el("strong", { className: "receipt" }, t("receipt"))];
    const queue = state.queue;
    if (queue && queue.agents_online === 0) lines.push(el("span", {}, t("queue_nobody")));
    else if (queue && queue.position) {
      let text = t("queue_position", { n: queue.position });
      if (queue.estimated_wait != null) text += ` · ${t("queue_wait", { n: Math.max(1, Math.ceil(queue.estimated_wait / 60)) })}`;
      lines.push(el("span", { testid: "queue-position" }, text));
    }
    if (state.profile.email) lines.push(el("span", { dir: "auto" }, t("email_saved", { email: state.profile.email })));
    cards.queue.replaceChildren(...lines);
  }

  function renderEmailCard() {
    const nobody = state.queue && state.queue.agents_online === 0 && state.status === "queued";
    cards.email.hidden = Boolean(state.profile.email) || !(state.askEmail || nobody);
  }

  function ratingCard() {
    const ended = state.ended;
    const legend = el("legend", {}, t("rate_title"));
    const stars = el("fieldset", { className: "stars" }, legend);
    const labels = [];
    for (let n = 1; n <= 5; n++) {
      const input = el("input", { type: "radio", name: "score", value: String(n), id: `score-${n}`, className: "visually-hidden" });
      const label = el("label", { htmlFor: input.id, title: t("rate_star", { n }) },
        el("span", { className: "visually-hidden" }, t("rate_star", { n })),
        el("span", { className: "star", ariaHidden: "true" }, "★"));
      label.addEventListener("pointerenter", () => light(n));
      labels.push(label);
      stars.append(input, label);
    }
    const light = (n) => labels.forEach((label, i) => label.classList.toggle("lit", i < n));
    const chosen = () => Number(new FormData(form).get("score")) || 0;
    stars.addEventListener("pointerleave", () => light(chosen()));
    stars.addEventListener("change", () => light(chosen()));
    const comment = el("textarea", { name: "comment", rows: 2, maxLength: 1000, dir: "auto", placeholder: t("rate_comment") });
    comment.setAttribute("aria-label", t("rate_comment"));
    const dismiss = el("button", { type: "button", className: "icon-button dismiss" }, "×");
    dismiss.setAttribute("aria-label", t("dismiss"));
    dismiss.addEventListener("click", () => { saveEnded({ dismissed: true }); render(); });
    const form = el("form", { className: "rating-form" }, dismiss, stars, comment,
      el("button", { type: "submit", className: "primary-button", testid: "rating-submit" }, t("rate_send")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!chosen()) return form.querySelector("input").focus();
      saveEnded({ pending: { score: chosen(), comment: comment.value.trim().slice(0, 1000) } });
      sendRating();
      form.querySelectorAll("button, input, textarea").forEach((node) => { node.disabled = true; });
    });
    form.dataset.conversation = ended.id;
    return form;
  }

  function renderRatingCard() {
    const ended = state.ended;
    const show = Boolean(ended && ended.agent && !ended.dismissed) && !OPEN.has(state.status);
    cards.rating.hidden = !show;
    if (!show) return;
    if (ended.rated) {
      if (!cards.rating.querySelector(".thanks")) {
        cards.rating.replaceChildren(el("p", { className: "thanks", testid: "rating-thanks" }, t("rate_thanks")));
      }
    } else if (!cards.rating.firstChild || cards.rating.firstChild.dataset.conversation !== ended.id) {
      cards.rating.replaceChildren(ratingCard());
    }
  }

  function saveEnded(changes) {
    state.ended = changes === null ? null : { ...state.ended, ...changes };
    store.set(KEYS.ended, JSON.stringify(state.ended));
  }

  function sendRating() {
    const ended = state.ended;
    if (!state.ready || !ended || !ended.pending || ended.rated) return;
    send({ type: "rate", conversation_id: ended.id, ...ended.pending });
  }

  // ---- start form: pre-chat and offline --------------------------------------------------

  function formKind() {
    if (!state.known || OPEN.has(state.status) || state.outbox.length) return null;
    if (!config.available) return "offline";
    if (config.prechat && !(state.profile.name && state.profile.email)) return "prechat";
    return null;
  }

  function renderStartForm() {
    const kind = formKind();
    const shown = ui.start.hidden ? null : ui.start.dataset.kind;
    ui.start.hidden = !kind;
    ui.form.hidden = Boolean(kind);
    if (!kind || kind === shown) return;
    ui.start.dataset.kind = kind;
    let intro = kind === "offline" ? t("offline_intro") : t("prechat_intro");
    if (kind === "offline" && config.next_open) {
      const when = new Date(config.next_open).toLocaleString(LOCALE, { weekday: "long", hour: "2-digit", minute: "2-digit" });
      intro += ` ${t("back_at", { when })}`;
    }
    ui.startIntro.textContent = intro;
    ui.startSubmit.textContent = kind === "offline" ? t("send_message") : t("start_chat");
    const f = ui.start.elements;
    f.name.value = state.profile.name || "";
    f.email.value = state.profile.email || "";
    f.name.required = kind === "prechat";
    const departments = config.departments || [];
    ui.start.querySelector('[data-field="department"]').hidden = !departments.length;
    f.department.required = departments.length > 0;
    f.department.replaceChildren(el("option", { value: "" }, t("choose")),
      ...departments.map((d) => el("option", { value: d, selected: d === state.profile.department }, d)));
  }

  function submitStart(event) {
    event.preventDefault();
    const f = ui.start.elements;
    const fields = [f.name, f.email, f.department, f.message];
    const bad = fields.filter((input) => !input.closest("[hidden]") &&
      (input.required && !input.value.trim() || !input.checkValidity()));
    for (const input of fields) input.setAttribute("aria-invalid", String(bad.includes(input)));
    ui.start.querySelector(".form-error").textContent = bad.length ? t("form_required") : "";
    if (bad.length) return bad[0].focus();
    setProfile({ name: f.name.value.trim(), email: f.email.value.trim(), department: f.department.value });
    const text = f.message.value.trim();
    f.message.value = "";
    queueMessage(text);
    ui.composer.focus();
  }

  function setProfile(changes) {
    const next = { ...state.profile };
    for (const [key, value] of Object.entries(changes)) if (value) next[key] = value;
    const changed = ["name", "email", "department"].some((key) => next[key] !== state.profile[key]);
    state.profile = next;
    store.set(KEYS.profile, JSON.stringify(next));
    if (changed) sendIdentify();
    render();
  }

  // hello carries the profile too, so an identify lost with the connection is not lost.
  function sendIdentify() {
    const { name, email, department } = state.profile;
    const frame = { type: "identify" };
    if (name) frame.name = name;
    if (email) frame.email = email;
    if (department && (config.departments || []).includes(department)) frame.department = department;
    if (state.ready) send(frame);
  }

  // ---- conversation state ----------------------------------------------------------------

  function subtitle() {
    if (state.wanted && !state.everReady) return t("status_connecting");
    if (state.status === "queued") return t("status_queued");
    if (OPEN.has(state.status)) return t("status_chatting", { name: state.agentName || t("an_agent") });
    if (state.status === "resolved") return t("status_resolved");
    if (state.status) return t("status_ended");
    return config.available ? t("status_online") : t("status_away");
  }

  function render() {
    ui.state.textContent = subtitle();
    ui.end.hidden = !OPEN.has(state.status);
    if (!OPEN.has(state.status)) showTyping(false);
    renderQueueCard();
    renderEmailCard();
    renderRatingCard();
    renderStartForm();
  }

  let typingTimer = null;
  function showTyping(on) {
    clearTimeout(typingTimer);
    ui.typing.hidden = !on;
    ui.typingText.textContent = on ? t("typing", { name: state.agentName || t("the_agent") }) : "";
    // A lost "state: false" must not leave the indicator up forever.
    if (on) typingTimer = setTimeout(() => showTyping(false), 8000);
  }

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
    render();
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

  function queueMessage(text) {
    const item = { client_id: newClientId(), text, ts: Date.now() };
    state.outbox.push(item);
    saveOutbox();
    showPending(item);
    render();
    ensureConnected();
    transmit(item);
  }

  function submit() {
    const text = ui.composer.value.trim();
    if (!text) return;
    ui.composer.value = "";
    grow();
    stopTyping();
    queueMessage(text);
  }

  const typing = { lastSent: 0, active: false, timer: null };
  const canType = () => state.ready && state.conversationId && OPEN.has(state.status);

  function onInput() {
    grow();
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

  function send(frame) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
  }

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
    frame.page = state.page || cleanPage({ url: location.href, title: document.title, referrer: document.referrer });
    const { name, email, department } = state.profile;
    if (name) frame.name = name.slice(0, 100);
    if (email) frame.email = email.slice(0, 254);
    if (department) frame.department = department.slice(0, 40);
    return frame;
  }

  function ensureConnected() {
    state.wanted = true;
    if (!state.ws && !state.reconnectTimer) connect();
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    state.wanted = true;
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
      say(delay > 1500 ? t("retrying", { n: Math.round(delay / 1000) }) : t("reconnecting"));
      state.reconnectTimer = setTimeout(connect, delay);
    };
  }

  const reconnectNow = () => !state.ws && state.reconnectTimer && connect();
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    reconnectNow();
    markRead();
  });
  setInterval(() => state.ready && send({ type: "ping" }), 25000);

  function onWelcome(frame) {
    state.ready = state.everReady = state.known = true;
    state.attempt = 0;
    state.readSent = null;
    if (frame.token) store.set(KEYS.token, frame.token);
    const previous = store.get(KEYS.visitor);
    if (previous && frame.visitor_id && previous !== frame.visitor_id) forgetTranscript();
    if (frame.visitor_id) store.set(KEYS.visitor, frame.visitor_id);
    const conv = frame.conversation;
    state.conversationId = conv ? conv.id : null;
    if (conv) {
      state.status = conv.status;
      state.agentName = (conv.agent && conv.agent.name) || "";
    } else if (OPEN.has(state.status)) {
      state.status = null; // keep "this chat was resolved" after a resolve
    }
    say("");
    render();
    for (const item of state.outbox) transmit(item);
    sendRating();
    markRead();
  }

  function onMessage(frame) {
    if (frame.from === "agent") showTyping(false);
    if (!showMessage(frame)) return;
    if (frame.from === "system") onSystemEvent(frame);
    if (frame.from === "agent") emit("message", { from: "agent", text: frame.text });
    markRead();
  }

  function onAck(frame) {
    if (frame.conversation_id && frame.conversation_id !== state.conversationId) {
      state.conversationId = frame.conversation_id; // a new chat (or a reopened one)
      state.agentName = "";
      state.askEmail = false;
      state.queue = null;
    }
    if (!OPEN.has(state.status)) state.status = "queued";
    if (state.ended && state.ended.id === frame.conversation_id) saveEnded(null);
    const li = state.byClientId.get(frame.client_id);
    if (!li || li.dataset.id) dropFromOutbox(frame.client_id);
    else {
      const item = state.outbox.find((i) => i.client_id === frame.client_id);
      confirmOwn(li, { ...frame, text: item ? item.text : li.querySelector(".bubble").textContent });
    }
    render();
  }

  function onResolved(frame) {
    if (frame.conversation_id && frame.conversation_id !== state.conversationId) return;
    stopTyping();
    state.status = frame.status || "resolved";
    const hadAgent = Boolean(state.agentName) || agentIds().length > 0;
    saveEnded(null);
    saveEnded({ id: frame.conversation_id || state.conversationId, agent: hadAgent });
    state.queue = null;
    render();
  }

  function handle(frame) {
    switch (frame.type) {
      case "welcome": return onWelcome(frame);
      case "message": return onMessage(frame);
      case "ack": return onAck(frame);
      case "queue":
        // A late queue update must not hide that an agent already took the chat.
        if (OPEN.has(state.status) && state.status !== "queued") return;
        state.queue = frame;
        return render();
      case "assigned":
        state.conversationId = frame.conversation_id || state.conversationId;
        state.status = "assigned";
        state.agentName = (frame.agent && frame.agent.name) || "";
        return render();
      case "typing":
        return frame.from === "agent" && showTyping(Boolean(frame.state));
      case "read":
        return frame.from === "agent" && frame.id && agentRead(frame.id);
      case "resolved": return onResolved(frame);
      case "rated":
        saveEnded({ rated: true, pending: null });
        emit("rated", frame.score);
        return render();
      case "reconnect": {
        const after = Number(frame.after_ms) || 250;
        if (state.ws) state.ws.reconnectAfter = after + Math.random() * after * 0.5;
        return state.ws && state.ws.close(1000);
      }
      case "error": return onError(frame);
      default: return undefined; // pong, synced, and frames from newer servers need nothing here
    }
  }

  function onError(frame) {
    const rating = frame.code === "conflict" || frame.code === "not_ended";
    if (rating && state.ended && frame.ref === state.ended.id) {
      // conflict: another tab rated it; not_ended: it was reopened. Either way, stop asking.
      saveEnded({ rated: frame.code === "conflict", pending: null, dismissed: frame.code !== "conflict" });
      return render();
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

  // ---- the frame: open and close, focus, the host page -----------------------------------

  function post(type, extra = {}) {
    if (FRAME && HOST) window.parent.postMessage({ chatserver: 1, type, ...extra }, HOST);
  }
  const emit = (name, detail) => post("event", { name, detail });

  async function refreshConfig() {
    try {
      const response = await fetch(`/api/widget/config?site=${encodeURIComponent(SITE)}`);
      if (response.ok) config = { ...config, ...(await response.json()), locale: LOCALE };
    } catch { /* keep what we had */ }
    render();
  }

  function setOpen(open, focus = true) {
    if (!FRAME || open === state.open) return;
    state.open = open;
    document.body.classList.toggle("open", open);
    ui.launcher.setAttribute("aria-expanded", String(open));
    clearTimeout(state.closeTimer);
    if (open) {
      post("state", { open: true, position: config.position });
      if (store.get(KEYS.token)) ensureConnected();
      refreshConfig();
      if (focus) requestAnimationFrame(focusFirst);
      markRead();
    } else {
      // Let the panel fade out before the loader shrinks the frame to the launcher.
      const delay = reducedMotion.matches ? 0 : CLOSE_ANIMATION_MS;
      state.closeTimer = setTimeout(() => post("state", { open: false, position: config.position }), delay);
      if (ui.panel.contains(document.activeElement)) ui.launcher.focus();
      renderBadge();
    }
    emit(open ? "open" : "close");
  }

  function focusables() {
    const nodes = [...ui.panel.querySelectorAll("a[href], button, input, select, textarea")]
      .filter((node) => !node.disabled && node.getClientRects().length > 0 && !node.closest("[hidden]"));
    if (FRAME && !state.phone) nodes.push(ui.launcher); // on desktop it closes the panel
    return nodes;
  }

  function focusFirst() {
    const target = ui.start.hidden ? ui.composer
      : [...ui.start.elements].find((n) => !n.closest("[hidden]") && !n.value);
    (target || ui.composer).focus({ preventScroll: true });
  }

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

  function setPhone(phone) {
    state.phone = Boolean(phone);
    document.body.classList.toggle("phone", state.phone);
  }

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
      state = freshState();
      start();
      state.page = cleanPage(m.page);
      setPhone(m.phone);
      if (m.user) setProfile({ name: text(m.user.name, 100), email: text(m.user.email, 254) });
      // A visitor who never wrote gets a socket only when they open the chat.
      if (store.get(KEYS.token) || state.outbox.length) ensureConnected();
      post("state", { open: state.open, position: config.position });
      renderBadge();
      // Open on the previous page of this tab: open again, without taking the page's focus.
      if (m.open) setOpen(true, false);
    } else if (m.type === "open" || m.type === "close" || m.type === "toggle") {
      setOpen(m.type === "toggle" ? !state.open : m.type === "open");
    } else if (m.type === "user" && m.user) {
      setProfile({ name: text(m.user.name, 100), email: text(m.user.email, 254) });
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
      renderBadge();
    } else if (key === KEYS.ended) {
      state.ended = store.json(KEYS.ended, null);
      render();
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
  ui.start.addEventListener("submit", submitStart);
  if (ui.launcher) ui.launcher.addEventListener("click", () => setOpen(!state.open));
  if (ui.close) ui.close.addEventListener("click", () => setOpen(false));

  function start() {
    resetList();
    for (const msg of [...state.history.values()].sort((a, b) => compareIds(a.id, b.id))) showMessage(msg);
    // An item can be both acked (in the history) and still in the outbox if the tab closed between.
    state.outbox = state.outbox.filter((item) => !state.byClientId.has(item.client_id));
    saveOutbox();
    for (const item of state.outbox) showPending(item);
    say("");
    render();
  }

  if (FRAME) {
    post("ready", { storage: Boolean(local) }); // the loader answers with "init"
  } else {
    start();
    ensureConnected();
    render();
  }
})();
