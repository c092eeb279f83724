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

  // Notes (kind "note", and the agent-only "transfer_note" event) look unlike replies.
  const SYSTEM_NOTE = new Set(["transfer_note"]);

  function buildMessage(msg, meId, visitorName) {
    if (msg.from === "system" && !SYSTEM_NOTE.has(msg.event)) {
      return el("li", { className: "msg msg-system", testid: "system-message" },
        el("span", { dir: "auto" }, msg.text || ""), " ", el("span", { className: "meta" }, timeOf(msg.ts)));
    }
    const note = msg.from === "note" || SYSTEM_NOTE.has(msg.event);
    const mine = (msg.from === "agent" || note) && (!msg.author || msg.author.id === meId);
    const author = (msg.author && msg.author.name) || "Agent";
    const who = msg.from === "visitor" ? visitorName : mine ? "You" : author;
    const label = note ? `${msg.event === "transfer_note" ? "Transfer note" : "Note"} · ${who}`
      : msg.from === "bot" ? `${who} · bot` : who;
    const meta = el("div", { className: "meta" }, `${label} · ${timeOf(msg.ts)}`);
    if (mine && !SYSTEM_NOTE.has(msg.event)) meta.append(" · ", el("span", { className: "delivery", testid: "message-state" }));
    const li = el("li", {
      className: `msg ${mine ? "msg-mine" : "msg-theirs"}${note ? " msg-note" : ""}${msg.from === "bot" ? " msg-bot" : ""}`,
      testid: note ? "note" : "message",
    }, el("div", { className: "bubble", dir: "auto", testid: "message-text" }, msg.text || ""), meta);
    li.dataset.from = note ? "note" : msg.from;
    return li;
  }

  // Transcripts are cached per tab so that a reload resumes from the cursors instead of
  // replaying every conversation; this many messages per conversation are kept.
  const TRANSCRIPT_LIMIT = 200;

  // What the previous page of this tab saved under `key`: {cursors, transcripts, status}.
  function loadSession(key) {
    try { return JSON.parse(sessionStorage.getItem(key)) || {}; } catch { return {}; }
  }

  // Saves the cursor and transcript of each conversation still open (`closed`: the statuses
  // that are not), those cached but not restored yet, and the status the agent chose; sets
  // state.cursors to what it saved.
  function saveSession(key, state, closed) {
    const cursors = {};
    const transcripts = {};
    for (const conv of state.convs.values()) {
      if (closed.has(conv.status) || !conv.cursor) continue;
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
      sessionStorage.setItem(key, JSON.stringify({ cursors, transcripts, status: state.wanted }));
    } catch { /* full or disabled: a reload then replays more, nothing breaks */ }
  }

  return { createQueue, buildMessage, loadSession, saveSession };
})();
