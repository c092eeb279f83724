// Parts of the agent console with no state of their own beyond what they manage: the queue
// list, how one message is drawn, and what a reload of the tab keeps (the socket is
// widget/socket.js, shared with the widget and the dashboard). agent.js wires them. User text
// only ever reaches the page as text nodes.
"use strict";

window.AgentParts = (() => {
  const { compareIds, el } = window.ChatCommon;
  const kit = window.ConsoleKit;
  const { t, time: timeOf } = window.I18n;

  // The site's queue: who waits, since when, and a Take button each.
  function createQueue({ list, count, empty, send, visitorLabel, now }) {
    let items = [];
    const seen = new Set();

    function render() {
      list.replaceChildren(...items.map((item) => {
        const take = el("button", { type: "button", className: "button primary small", testid: "take" }, t("console.take"));
        take.addEventListener("click", () => {
          take.disabled = true;
          take.textContent = t("console.taking");
          send({ type: "claim", conversation_id: item.id });
        });
        const page = (item.visitor && item.visitor.page) || {};
        const since = item.queued_at || item.created_at;
        const wait = el("span", { className: "wait", testid: "queue-wait" }, since ? kit.duration(now() - since) : "");
        wait.dataset.since = since || "";
        const li = el("li", { className: "queue-item", testid: "queue-item" },
          el("div", { className: "queue-head" },
            kit.user(el("span", { className: "conv-name", dir: "auto" }, visitorLabel(item.visitor))), wait),
          kit.user(el("p", { className: "conv-preview", dir: "auto" }, item.preview || "")),
          kit.user(el("p", { className: "queue-page", dir: "auto" },
            [item.department, page.title || page.url].filter(Boolean).join(" · "))),
          take);
        // The visitor left an e-mail in the offline form and waits for a reply by mail.
        if (item.awaiting_email_reply) take.before(el("p", { className: "mail-mark", testid: "awaiting-email" }, t("console.awaiting_email")));
        li.dataset.id = item.id;
        return li;
      }));
      count.textContent = kit.num(items.length);
      empty.hidden = items.length > 0;
    }

    return {
      render,
      // ``live``: an update while connected, so a conversation not seen before is news.
      set(next, live) {
        for (const item of next) {
          if (live && !seen.has(item.id)) {
            kit.alert(`queue:${item.id}`, t("console.new_in_queue"), `${visitorLabel(item.visitor)}: ${item.preview || ""}`);
          }
          seen.add(item.id);
        }
        items = next;
        render();
      },
      drop(id) { items = items.filter((item) => item.id !== id); render(); },
      tick() {
        for (const wait of list.querySelectorAll("[data-since]")) {
          if (wait.dataset.since) wait.textContent = kit.duration(now() - Number(wait.dataset.since));
        }
      },
    };
  }

  // Notes (kind "note", and the agent-only "transfer_note" event) and a supervisor's
  // whispers look unlike replies; other team members' replies sit on the team's side.
  const SYSTEM_NOTE = new Set(["transfer_note"]);
  // System lines only agents see (the visitor sees the effect, not the step; a snooze not
  // even that).
  const AGENT_ONLY = new Set(["monitor_started", "taken_over", "snoozed", "snooze_ended", "mail_failed", "place_kept"]);

  // A message whose person was erased (docs/privacy.md): its place, time and kind remain.
  const ERASED = "console.erased";


  function buildMessage(msg, meId, visitorName) {
    if (msg.from === "system" && !SYSTEM_NOTE.has(msg.event)) {
      const li = el("li", { className: `msg msg-system${AGENT_ONLY.has(msg.event) ? " msg-private" : ""}`, testid: "system-message" },
        el("span", { dir: "auto" }, ...kit.named(window.I18n.eventText(msg), msg.author && msg.author.name)), " ", el("span", { className: "meta" }, timeOf(msg.ts)));
      if (AGENT_ONLY.has(msg.event)) li.title = t("console.only_agents_see");
      if (msg.event) li.dataset.event = msg.event;
      return li;
    }
    const note = msg.from === "note" || SYSTEM_NOTE.has(msg.event);
    const whisper = msg.from === "whisper";
    const mine = (msg.from === "agent" || note || whisper) && (!msg.author || msg.author.id === meId);
    const author = (msg.author && msg.author.name) || t("console.agent");
    const who = msg.from === "visitor" ? visitorName : mine ? t("console.you") : author;
    const named = (key) => t(key, { name: who });
    const label = note ? named(msg.event === "transfer_note" ? "console.transfer_note_by" : "console.note_by")
      : whisper ? named("console.whisper_by") : msg.from === "bot" ? named("console.bot_by") : who;
    // The name is the person's own (user content); "You", "Note ·" and the time are ours.
    const meta = el("div", { className: "meta" }, ...kit.named(label, who, mine), ` · ${timeOf(msg.ts)}`);
    if (mine && !SYSTEM_NOTE.has(msg.event)) meta.append(" · ", el("span", { className: "delivery", testid: "message-state" }));
    const team = msg.from === "agent" && !mine ? " msg-team" : "";
    const li = el("li", {
      className: `msg ${mine ? "msg-mine" : "msg-theirs"}${note ? " msg-note" : ""}${whisper ? " msg-whisper" : ""}${msg.from === "bot" ? " msg-bot" : ""}${team}`,
      testid: note ? "note" : whisper ? "whisper" : "message",
    }, el("div", { className: `bubble${msg.event === "erased" ? " erased" : ""}`, dir: "auto", testid: "message-text" },
      msg.event === "erased" ? t(ERASED) : window.Linkify.fragment(msg.text || "")), meta);
    if (msg.event !== "erased") kit.user(li.querySelector(".bubble"));
    if (msg.file && msg.event !== "erased") { // a file (agent-files.js), under its text if any
      const bubble = li.firstChild;
      if (!msg.text) bubble.classList.add("file-only");
      bubble.append(window.AgentFiles.view(msg.file));
    }
    li.dataset.from = note ? "note" : msg.from;
    return li;
  }

  // Transcripts are cached per tab so that a reload resumes from the cursors instead of
  // replaying every conversation; this many messages per conversation are kept.
  const TRANSCRIPT_LIMIT = 200;

  // What the previous page of this tab saved under `key`: {cursors, transcripts, status,
  // watching (the ids of the chats it watched)}.
  function loadSession(key) {
    try { return JSON.parse(sessionStorage.getItem(key)) || {}; } catch { return {}; }
  }

  // Saves the cursor and transcript of each own conversation still open (`closed`: the
  // statuses that are not), those cached but not restored yet, the status the agent chose and
  // the chats watched; sets state.cursors to what it saved.
  function saveSession(key, state, closed) {
    const cursors = {};
    const transcripts = {};
    for (const conv of state.convs.values()) {
      // A watched chat is watched again after the reload, which replays all of it.
      if (conv.watching || closed.has(conv.status) || !conv.cursor) continue;
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
      const watching = [...(state.watchWanted || [])];
      const seen = Object.fromEntries(Object.entries(state.seen || {}).filter(([id]) => transcripts[id]));
      sessionStorage.setItem(key, JSON.stringify({ cursors, transcripts, status: state.wanted, watching, seen }));
    } catch { /* full or disabled: a reload then replays more, nothing breaks */ }
  }

  // Read receipts: the visitor's `read` frames mark what they have read; our own messages up
  // to it show "seen" (kept in state.seen for the tab's reloads with the transcripts).
  function receipts(state, saveSoon) {
    const seenBy = (conv, id) => Boolean(state.seen[conv.id]) && compareIds(id, state.seen[conv.id]) <= 0;
    function markSeen(conv, id) {
      if (!id || seenBy(conv, id)) return;
      state.seen[conv.id] = id;
      // Only messages the visitor receives: notes and whispers never reach them.
      for (const li of conv.list.querySelectorAll('li[data-id][data-from="agent"]')) {
        if (seenBy(conv, li.dataset.id)) window.ChatCommon.setDelivery(li, t("console.seen"));
      }
      saveSoon();
    }
    return { seenBy, markSeen };
  }

  // The status line shows the connection state; an error covers it for a few seconds.
  function statusLine(node) {
    const line = { text: "", timer: null };
    function say(text, error = false) {
      if (!error) line.text = text;
      if (!error && line.timer) return;
      clearTimeout(line.timer);
      node.textContent = text;
      node.classList.toggle("error", error);
      line.timer = error ? setTimeout(() => { line.timer = null; say(line.text); }, 6000) : null;
    }
    return say;
  }

  return { createQueue, buildMessage, loadSession, saveSession, receipts, statusLine };
})();
