// Parts of the agent console with no state of their own beyond what they manage: the queue
// list, how one message is drawn, and what a reload of the tab keeps (the socket is
// widget/socket.js, shared with the widget and the dashboard). agent.js wires them. User text
// only ever reaches the page as text nodes.
"use strict";

window.AgentParts = (() => {
  const { compareIds, el, timeOf } = window.ChatCommon;
  const kit = window.ConsoleKit;

  // The site's queue: who waits, since when, and a Take button each.
  function createQueue({ list, count, empty, send, visitorLabel, now }) {
    let items = [];
    const seen = new Set();

    function render() {
      list.replaceChildren(...items.map((item) => {
        const take = el("button", { type: "button", className: "button primary small", testid: "take" }, "Take");
        take.addEventListener("click", () => {
          take.disabled = true;
          take.textContent = "Taking…";
          send({ type: "claim", conversation_id: item.id });
        });
        const page = (item.visitor && item.visitor.page) || {};
        const since = item.queued_at || item.created_at;
        const wait = el("span", { className: "wait", testid: "queue-wait" }, since ? kit.duration(now() - since) : "");
        wait.dataset.since = since || "";
        const li = el("li", { className: "queue-item", testid: "queue-item" },
          el("div", { className: "queue-head" },
            el("span", { className: "conv-name", dir: "auto" }, visitorLabel(item.visitor)), wait),
          el("p", { className: "conv-preview", dir: "auto" }, item.preview || ""),
          el("p", { className: "queue-page", dir: "auto" },
            [item.department, page.title || page.url].filter(Boolean).join(" · ")),
          take);
        // The visitor left an e-mail in the offline form and waits for a reply by mail.
        if (item.awaiting_email_reply) take.before(el("p", { className: "mail-mark", testid: "awaiting-email" }, "waiting for an e-mail reply"));
        li.dataset.id = item.id;
        return li;
      }));
      count.textContent = String(items.length);
      empty.hidden = items.length > 0;
    }

    return {
      render,
      // ``live``: an update while connected, so a conversation not seen before is news.
      set(next, live) {
        for (const item of next) {
          if (live && !seen.has(item.id)) {
            kit.alert(`queue:${item.id}`, "New chat in the queue", `${visitorLabel(item.visitor)}: ${item.preview || ""}`);
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
  const ERASED = "Erased at the person's request";

  function buildMessage(msg, meId, visitorName) {
    if (msg.from === "system" && !SYSTEM_NOTE.has(msg.event)) {
      const li = el("li", { className: `msg msg-system${AGENT_ONLY.has(msg.event) ? " msg-private" : ""}`, testid: "system-message" },
        el("span", { dir: "auto" }, msg.text || ""), " ", el("span", { className: "meta" }, timeOf(msg.ts)));
      if (AGENT_ONLY.has(msg.event)) li.title = "Only agents see this";
      if (msg.event) li.dataset.event = msg.event;
      return li;
    }
    const note = msg.from === "note" || SYSTEM_NOTE.has(msg.event);
    const whisper = msg.from === "whisper";
    const mine = (msg.from === "agent" || note || whisper) && (!msg.author || msg.author.id === meId);
    const author = (msg.author && msg.author.name) || "Agent";
    const who = msg.from === "visitor" ? visitorName : mine ? "You" : author;
    const label = note ? `${msg.event === "transfer_note" ? "Transfer note" : "Note"} · ${who}`
      : whisper ? `Whisper · ${who}` : msg.from === "bot" ? `${who} · bot` : who;
    const meta = el("div", { className: "meta" }, `${label} · ${timeOf(msg.ts)}`);
    if (mine && !SYSTEM_NOTE.has(msg.event)) meta.append(" · ", el("span", { className: "delivery", testid: "message-state" }));
    const team = msg.from === "agent" && !mine ? " msg-team" : "";
    const li = el("li", {
      className: `msg ${mine ? "msg-mine" : "msg-theirs"}${note ? " msg-note" : ""}${whisper ? " msg-whisper" : ""}${msg.from === "bot" ? " msg-bot" : ""}${team}`,
      testid: note ? "note" : whisper ? "whisper" : "message",
    }, el("div", { className: `bubble${msg.event === "erased" ? " erased" : ""}`, dir: "auto", testid: "message-text" },
      msg.event === "erased" ? ERASED : window.Linkify.fragment(msg.text || "")), meta);
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

  return { createQueue, buildMessage, loadSession, saveSession };
})();
