// The visitor's chat panel: what it shows. The message list (messages, the greeting, the
// typing line) and the transcript cached in storage; the unread count on the launcher and read
// receipts both ways; the cards below the newest message (receipt and queue, email, rating);
// the start form (pre-chat and offline) and the visitor's profile; and render(), which brings
// all of it in line with the conversation's state.
// Part of the panel's scripts: see chat.js for the order and the shared namespace.
"use strict";

(() => {
  const P = window.ChatPanel;
  const { FRAME, KEYS, LOCALE, OPEN, T, t, timeOf, ui, store, state, config, numbers, send, emit } = P;
  const { compareIds, el, setDelivery, placeInOrder, linkify } = window.ChatCommon;
  // The transcript is cached so that a reload resumes from the cursor instead of replaying
  // the whole conversation; beyond this many messages the oldest are dropped.
  const HISTORY_LIMIT = 200;

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
    mark(li, msg.id);
    if (msg.from === "visitor" && msg.client_id) state.byClientId.set(msg.client_id, li);
    place(li);
    remember(msg);
    return true;
  }

  function mark(li, id) {
    li.dataset.id = id;
    state.byId.set(id, li);
    setDelivery(li, delivered(id));
  }

  function confirmOwn(li, msg) {
    mark(li, msg.id);
    li.remove();
    place(li);
    P.dropFromOutbox(msg.client_id);
    remember({ ...msg, from: "visitor" });
  }

  function showPending(item) {
    const li = buildMessage({ from: "visitor", text: item.text, ts: item.ts });
    setDelivery(li, t("sending"));
    state.byClientId.set(item.client_id, li);
    place(li);
  }

  function remember(msg) {
    const { id, client_id, from, author, text, ts, event, file } = msg;
    state.history.set(id, { id, client_id, from, author, text, ts, event, file });
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
    // Sorts before every message.
    greeting.dataset.id = "0-0";
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

  let typingTimer = null;
  function showTyping(on) {
    clearTimeout(typingTimer);
    ui.typing.hidden = !on;
    ui.typingText.textContent = on ? t("typing", { name: state.agentName || t("the_agent") }) : "";
    // A lost "state: false" must not leave the indicator up forever.
    if (on) typingTimer = setTimeout(() => showTyping(false), 8000);
  }

  // ---- reading: unread count, read receipts ----------------------------------------------

  const seeing = () => state.open && !document.hidden;
  const agentIds = () => [...state.history.values()].filter((m) => /^(agent|bot)$/.test(m.from)).map((m) => m.id);

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

  const when = (ms) => new Date(ms).toLocaleString(LOCALE, { weekday: "long", hour: "2-digit", minute: "2-digit" });

  function renderQueueCard() {
    const show = Boolean(state.conversationId) && state.status === "queued" &&
      [...state.byClientId.values()].some((li) => li.dataset.id);
    cards.queue.hidden = !show;
    if (!show) return;
    const lines = [el("strong", { className: "receipt" }, t("receipt"))];
    const queue = state.queue;
    // opens_at: the wait runs past closing time (or the team is closed): say when it is back.
    const back = queue?.opens_at && t("back_at", { when: when(queue.opens_at) });
    if (queue?.agents_online === 0) lines.push(el("span", {}, back || t("queue_nobody")));
    else if (queue?.position) {
      let text = t("queue_position", { n: queue.position });
      if (back) text += ` · ${back}`;
      else if (queue.estimated_wait != null) text += ` · ${t("queue_wait", { n: Math.max(1, Math.ceil(queue.estimated_wait / 60)) })}`;
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
    const comment = el("textarea", { name: "comment", rows: 2, dir: "auto", placeholder: t("rate_comment") });
    comment.setAttribute("aria-label", t("rate_comment"));
    comment.addEventListener("input", () => P.tooLong(comment, 1000));
    const dismiss = el("button", { type: "button", className: "icon-button dismiss" }, "×");
    dismiss.setAttribute("aria-label", t("dismiss"));
    dismiss.addEventListener("click", () => { saveEnded({ dismissed: true }); render(); });
    const form = el("form", { className: "rating-form" }, dismiss, stars, comment,
      el("button", { type: "submit", className: "primary-button", testid: "rating-submit" }, t("rate_send")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!chosen()) return form.querySelector("input").focus();
      if (P.tooLong(comment, 1000)) return comment.focus();
      saveEnded({ pending: { score: chosen(), comment: comment.value.trim() } });
      sendRating();
      form.querySelectorAll("button, input, textarea").forEach((node) => { node.disabled = true; });
    });
    form.dataset.conversation = ended.id;
    return form;
  }

  function renderRatingCard() {
    const ended = state.ended;
    const show = Boolean(ended && ended.agent && !ended.dismissed) && !OPEN.has(state.status);
    const appears = show && cards.rating.hidden;
    cards.rating.hidden = !show;
    if (!show) return;
    if (ended.rated) {
      if (!cards.rating.querySelector(".thanks")) {
        cards.rating.replaceChildren(el("p", { className: "thanks", testid: "rating-thanks" }, t("rate_thanks")));
      }
    } else if (!cards.rating.firstChild || cards.rating.firstChild.dataset.conversation !== ended.id) {
      cards.rating.replaceChildren(ratingCard());
    }
    // Scroll all of the card into view, not half of it below the list (its top first when
    // the list is shorter than the card).
    if (appears) {
      const card = cards.rating.getBoundingClientRect();
      const list = ui.list.getBoundingClientRect();
      ui.list.scrollTop += Math.min(card.top - list.top - 8, card.bottom - list.bottom + 16);
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

  // Someone answers when an agent is online: routing hands a chat to any online agent, office
  // hours or not. With nobody online (outside office hours, say) the offline form stands in.
  const available = () => config.agents_online > 0;

  function formKind() {
    if (!state.known || OPEN.has(state.status) || state.outbox.length) return null;
    if (!available()) return "offline";
    if (config.prechat && !(state.profile.name && state.profile.email)) return "prechat";
    return null;
  }

  function renderStartForm() {
    const kind = formKind();
    const shown = ui.start.hidden ? null : ui.start.dataset.kind;
    if (kind === shown) return;
    const f = ui.start.elements;
    // The form and the composer take turns while the panel is open (an agent came or went):
    // what the visitor typed, and the focus, move to the one shown.
    const [from, to] = kind ? [ui.composer, f.message] : [f.message, ui.composer];
    const focused = (kind ? ui.form : ui.start).contains(document.activeElement);
    if (!to.value) [to.value, from.value] = [from.value, ""];
    P.tooLong(to);
    P.grow();
    ui.start.hidden = !kind;
    ui.form.hidden = Boolean(kind);
    if (!kind) {
      if (focused) P.focusFirst();
      return;
    }
    ui.start.dataset.kind = kind;
    let intro = kind === "offline" ? t("offline_intro") : t("prechat_intro");
    if (kind === "offline" && config.next_open) {
      intro += ` ${t("back_at", { when: when(config.next_open) })}`;
    }
    ui.startIntro.textContent = intro;
    ui.startSubmit.textContent = kind === "offline" ? t("send_message") : t("start_chat");
    f.name.value ||= state.profile.name || "";
    f.email.value ||= state.profile.email || "";
    f.name.required = kind === "prechat";
    const departments = config.departments || [];
    ui.start.querySelector('[data-field="department"]').hidden = !departments.length;
    f.department.required = departments.length > 0;
    f.department.replaceChildren(el("option", { value: "" }, t("choose")),
      ...departments.map((d) => el("option", { value: d, selected: d === state.profile.department }, d)));
    if (focused) P.focusFirst();
  }

  function submitStart(event) {
    event.preventDefault();
    const f = ui.start.elements;
    const fields = [f.name, f.email, f.department, f.message];
    if (P.tooLong(f.message)) return f.message.focus();
    const bad = fields.filter((input) => !input.closest("[hidden]") &&
      (input.required && !input.value.trim() || !input.checkValidity()));
    for (const input of fields) input.setAttribute("aria-invalid", String(bad.includes(input)));
    ui.start.querySelector(".form-error").textContent = bad.length ? t("form_required") : "";
    if (bad.length) return bad[0].focus();
    // Taken out first: the profile may complete the pre-chat form, and render() would move
    // the text to the composer.
    const text = f.message.value.trim();
    f.message.value = "";
    setProfile({ name: f.name.value.trim(), email: f.email.value.trim(), department: f.department.value });
    P.queueMessage(text);
    ui.composer.focus();
  }

  function setProfile(changes, signed) {
    const next = { ...state.profile };
    for (const [key, value] of Object.entries(changes)) if (value) next[key] = value;
    const changed = ["name", "email", "department"].some((key) => next[key] !== state.profile[key]);
    state.profile = next;
    store.set(KEYS.profile, JSON.stringify(next));
    if (changed || signed) sendIdentify();
    render();
  }

  // hello carries the profile too, so an identify lost with the connection is not lost.
  function sendIdentify() {
    const { name, email, department } = state.profile;
    const frame = { type: "identify" };
    if (name) frame.name = name;
    if (email) frame.email = email;
    if (department && (config.departments || []).includes(department)) frame.department = department;
    if (state.ready) send(Object.assign(frame, state.signed));
  }

  // ---- conversation state ----------------------------------------------------------------

  function subtitle() {
    if (state.wanted && !state.everReady) return t("status_connecting");
    if (state.status === "queued") return t("status_queued");
    if (OPEN.has(state.status)) return t("status_chatting", { name: state.agentName || t("an_agent") });
    if (state.status === "resolved") return t("status_resolved");
    if (state.status) return t("status_ended");
    return available() ? t("status_online") : t("status_away");
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

  Object.assign(P, {
    showMessage, confirmOwn, showPending, resetList, forgetTranscript, showTyping, agentIds,
    renderBadge, markRead, agentRead, cards, render, saveEnded, sendRating, setProfile, submitStart,
  });
})();
