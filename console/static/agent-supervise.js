// The supervisors' side of the agent console (docs/protocol.md, "Supervision"): watching any
// chat of the site without joining it (the console opens `#watch=c_…`, which the dashboard
// links to), the "Watching" list, and the bar over a watched chat: whisper to its agent, join
// or leave, take over (to me, to another agent, back to a queue), stop watching. For the agent
// who holds a chat it names who took it over. The "Needs attention" list is agent-attention.js. agent.js creates it once and owns the state it reads; a watched conversation is
// one of state.convs with `watching` set. User text only ever reaches the page as text nodes.
"use strict";

window.AgentSupervise = (() => {
  const { el, compareIds } = window.ChatCommon;

  const { t } = window.I18n;
  const name = (who) => window.ConsoleKit.user(el("span", { dir: "auto" }, (who && (who.name || who.id)) || t("console.an_agent")), Boolean(who && (who.name || who.id)));
  // A sentence with a person's name in it as a node: split around the {name} placeholder.
  const around = (key, who) => {
    const [before, after] = t(key, { name: "\u0000" }).split("\u0000");
    return [before, name(who), after || ""];
  };

  // Every string of supervision the console shows (the buttons' labels are in agent.html).
  const TEXT = {
    holder: (agent) => around("console.has_this_chat", agent),
    held: (agent) => around("console.had_this_chat", agent),
    queued: t("console.in_queue_nobody"),
    joined: (people) => [` · ${t("console.joined_label")} `, ...people.flatMap((p, i) => [i ? t("console.list_comma") : "", p.you ? t("console.you_lower") : name(p)])],
    watchingStatus: (status) => t("console.watching_status", { status }),
    // The console's status labels speak to the agent who holds the chat; a watcher's do not.
    statuses: { waiting_on_agent: t("console.waiting_for_agent") },
    sidebarHolder: (agent) => (agent ? around("console.agent_is", agent) : [t("console.in_the_queue_cap")]),
    ended: t("console.chat_ended"),
    join: t("console.join"), leave: t("console.leave"), takeOver: t("console.take_over"), take: t("console.take"),
    queuedJoin: t("console.queued_join"),
    nowWatching: t("console.now_watching"),
    youJoined: t("console.you_joined"),
    youLeft: t("console.you_left"),
    yours: t("console.yours_now"),
    handedOn: t("console.handed_on"),
    stopped: t("console.stopped_watching"),
    onlySupervisors: t("console.only_supervisors_watch"),
    badLink: t("console.bad_link"),
    tookOver: (who) => (who ? t("console.took_over", { name: who }) : t("console.supervisor_took_over")),
    whisperFrom: (who) => t("console.whisper_from", { name: who }),
    typing: (who) => t("console.is_typing", { name: who || t("console.an_agent") }),
    dialog: {
      title: t("console.take_over_title"), agents: t("console.take_over_agents"), toMe: t("console.to_me"),
      submit: t("console.take_over"), pick: t("console.take_over_pick"),
    },
    // What went wrong, by error code and by what we asked for.
    errors: {
      conflict: {
        take_over: t("console.err_conflict_take_over"),
        join: t("console.queued_join"),
        leave: t("console.err_conflict_leave"),
        claim: t("console.err_conflict_claim"),
        "": t("console.err_conflict"),
      },
      conversation_closed: { "": t("console.err_closed") },
      capacity: {
        take_over_me: t("console.err_capacity_me"),
        take_over_agent: t("console.err_capacity_agent"),
        claim: t("console.err_capacity_me"),
        "": t("console.err_capacity"),
      },
      agent_unavailable: { "": t("console.err_agent_unavailable") },
      forbidden: { "": t("console.err_forbidden") },
      not_found: { monitor: t("console.err_not_found"), "": t("console.err_not_found") },
    },
  };

  const WATCH_ID = /^c_[A-Za-z0-9_-]{1,40}$/;
  // System events after which the console asks again who holds a watched chat.
  const HOLDER_EVENTS = new Set(["assigned", "transferred", "requeued", "taken_over", "reopened"]);


  // `app`: agent.js's ui, state, me, send, say, q, CLOSED, statusLabel, transfer (the dialog),
  // now (the server's clock), visitorLabel, and conversation, select, refresh, refreshTotals,
  // removeConversation, openCount.
  function create(app) {
    const { ui, state, me, send, say, q, CLOSED, transfer } = app;
    const bar = {
      root: q("watch-bar"), holder: q("watch-holder"), whisper: q("watch-whisper"),
      join: q("watch-join"), takeOver: q("watch-take-over"), stop: q("watch-stop"),
      list: q("watching"), count: q("watching-count"), empty: q("watching-empty"),
      modeWhisper: q("mode-whisper"), modes: ui.form.querySelector(".composer-modes"),
    };
    state.watchWanted = new Set(state.watchWanted || []); // ids to (re)watch after a welcome
    const pending = new Map(); // conversation id -> what we asked for: {action, target}
    const dropped = new Set(); // gone from this console: stray frames must not bring them back

    const canSupervise = () => ["supervisor", "admin"].includes(state.role);
    const joined = (conv) => Boolean(conv.participants && conv.participants.some((p) => p.id === me.id));
    const selected = () => state.convs.get(state.selected);

    // Again after a reconnect: from the last message seen, so nothing is replayed twice.
    function monitor(id) {
      pending.set(id, { action: "monitor" });
      const conv = state.convs.get(id);
      const after = conv && conv.watching && conv.cursor;
      if (state.ready) send({ type: "monitor", conversation_id: id, ...(after ? { after } : {}) });
    }

    // `#watch=c_…`: at load, and whenever the hash changes (a dashboard link in this tab).
    function fromHash() {
      const match = /^#watch=(.*)$/.exec(window.location.hash);
      if (!match) return;
      history.replaceState(null, "", window.location.pathname + window.location.search);
      const id = decodeURIComponent(match[1]);
      if (!WATCH_ID.test(id)) return say(TEXT.badLink, true);
      openWatch(id);
    }
    window.addEventListener("hashchange", fromHash);

    // Watch a chat (a `#watch=` link, the Watch button of "Needs attention"); one already
    // followed is shown.
    function openWatch(id) {
      if (!canSupervise()) return say(TEXT.onlySupervisors, true);
      attention.settle(id);
      const conv = state.convs.get(id);
      if (conv) { app.select(id); if (!conv.watching) return; }
      state.focus = id; // shown once the server says it is watched
      dropped.delete(id);
      state.watchWanted.add(id);
      monitor(id);
      app.saveSoon();
    }

    // The conversation is the console user's own now (taken over, claimed, listed in welcome).
    function becameMine(id) {
      state.watchWanted.delete(id);
      dropped.delete(id);
      pending.delete(id);
      const conv = state.convs.get(id);
      if (conv && conv.watching) { conv.watching = false; say(TEXT.yours); }
      transfer.done(id);
    }

    function stopWatching(conv) {
      state.watchWanted.delete(conv.id);
      if (joined(conv) && !CLOSED.has(conv.status)) send({ type: "leave", conversation_id: conv.id });
      send({ type: "unmonitor", conversation_id: conv.id });
      dropped.add(conv.id);
      app.removeConversation(conv);
      say(TEXT.stopped);
    }

    // Who holds a watched chat after a step that moves it: the stream says that something
    // moved, the conversation's summary says where to.
    async function refreshHolder(conv) {
      let data;
      try {
        const response = await fetch(`/api/console/conversations/${encodeURIComponent(conv.id)}/messages`,
          { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) return;
        data = await response.json();
      } catch { return; }
      const summary = data.conversation || {};
      if (!conv.watching || state.convs.get(conv.id) !== conv) return;
      conv.holder = summary.agent || null;
      if (Array.isArray(summary.participants)) conv.participants = summary.participants;
      app.refresh(conv);
    }

    // --- frames ------------------------------------------------------------------------------
    // Returns true when the frame was supervision's alone.
    function handle(frame, conv) {
      const id = frame.conversation_id;
      switch (frame.type) {
        case "monitoring": {
          pending.delete(id);
          dropped.delete(id);
          const watched = app.conversation(id, frame.conversation || {});
          watched.watching = !(watched.holder && watched.holder.id === me.id);
          if (!watched.watching) state.watchWanted.delete(id);
          if (state.focus === id || !state.selected) { state.focus = null; app.select(id); say(TEXT.nowWatching); }
          app.refresh(watched);
          return true;
        }
        case "unmonitored":
          if (conv && conv.watching && !joined(conv)) { dropped.add(id); app.removeConversation(conv); }
          return true;
        case "assigned": { // someone else's assignment, in a chat we watch
          const agent = frame.agent || (frame.conversation && frame.conversation.agent);
          if (!agent || agent.id === me.id) { becameMine(id); return false; }
          if (conv && conv.watching) { conv.holder = agent; transfer.done(id); app.refresh(conv); }
          return true;
        }
        case "escalation": // supervisors' sockets only; agents never get one
          if (canSupervise()) attention.add(frame);
          return true;
        case "resolved": // the chat ended: nothing of it needs attention any more
          attention.settle(id);
          return false;
        case "typing": { // the team's side (the visitor's is agent.js's)
          if (frame.from !== "agent") return false;
          if (conv && !(frame.author && frame.author.id === me.id)) showAgentTyping(conv, frame);
          return true;
        }
        default:
          return false;
      }
    }

    // "Sara is typing…": the agent of a watched chat, or a supervisor who joined ours. A lost
    // "state: false" must not leave it up forever.
    function showAgentTyping(conv, frame) {
      clearTimeout(conv.agentTypingTimer);
      conv.agentTyping = frame.state ? (frame.author && frame.author.name) || holderName(conv) || "" : null;
      if (frame.state) conv.agentTypingTimer = setTimeout(() => { conv.agentTyping = null; app.refresh(conv); }, 8000);
      app.refresh(conv);
    }

    const holderName = (conv) => (conv.watching ? conv.holder && conv.holder.name
      : (conv.participants || []).map((p) => p.name).join(", "));

    // A message new to this console (live or replayed), after agent.js recorded it.
    function onMessage(conv, msg) {
      if (msg.from === "agent" && conv.agentTyping) { clearTimeout(conv.agentTypingTimer); conv.agentTyping = null; }
      if (msg.from === "whisper" && conv.synced && !conv.watching && msg.author && msg.author.id !== me.id && !app.visible(conv)) {
        app.alert(`whisper:${msg.id}`, TEXT.whisperFrom(msg.author.name || ""), msg.text || "", conv.id);
      }
      if (msg.from !== "system") return;
      const author = msg.author && msg.author.id ? { id: msg.author.id, name: msg.author.name || "" } : null;
      const people = (conv.participants || []).filter((p) => !author || p.id !== author.id);
      if (msg.event === "joined" && author) conv.participants = [...people, author];
      if (msg.event === "left" && author) conv.participants = people;
      if (!conv.synced) return; // a replay: the summary already said how it ended
      const asked = pending.get(conv.id);
      if (author && author.id === me.id && ["joined", "left"].includes(msg.event)) {
        pending.delete(conv.id);
        say(msg.event === "joined" ? TEXT.youJoined : TEXT.youLeft);
      }
      if (conv.watching && HOLDER_EVENTS.has(msg.event)) {
        if (msg.event === "assigned" && author) conv.holder = author;
        if (msg.event === "requeued") conv.holder = null;
        // Ours went through; someone else's leaves our dialog open (sending it then is refused).
        if (asked && asked.action === "take_over" && msg.author && msg.author.id === me.id) {
          pending.delete(conv.id);
          transfer.done(conv.id);
          say(TEXT.handedOn);
        }
        refreshHolder(conv);
      }
    }

    // The agent's own chat went away; the text to say, or "" for agent.js's own. The
    // supervisor is the author of the `taken_over` line (of `transferred`, the new agent).
    function unassignedText(frame, conv) {
      if (frame.reason !== "taken_over") return "";
      const step = [...conv.messages.values()].filter((m) => m.event === "taken_over")
        .sort((a, b) => compareIds(b.id, a.id))[0];
      return TEXT.tookOver(step && step.author && step.author.name);
    }

    // An error about a step of ours; true when it is shown.
    function describe(frame) {
      const asked = pending.get(frame.ref);
      const byCode = TEXT.errors[frame.code];
      if (!asked || !byCode) return "";
      pending.delete(frame.ref);
      if (asked.action === "monitor") {
        state.watchWanted.delete(frame.ref);
        app.saveSoon();
      }
      const key = asked.target ? `${asked.action}_${asked.target}` : asked.action;
      return byCode[key] || byCode[asked.action] || byCode[""] || frame.message || frame.code;
    }

    function failed(frame) {
      const text = describe(frame);
      if (text) say(text, true);
      return Boolean(text);
    }

    // --- the bar and the list ---------------------------------------------------------------
    function fitMode(conv, mode) {
      if (!conv.watching) return ["reply", "note"].includes(mode) ? mode : "reply";
      if (joined(conv)) return ["reply", "whisper"].includes(mode) ? mode : "reply";
      return mode === "whisper" ? mode : "watch"; // watching only: the composer opens to whisper
    }

    function renderThread(conv) {
      const watched = Boolean(conv.watching);
      const closed = CLOSED.has(conv.status);
      const isIn = joined(conv);
      ui.resolve.hidden = watched;
      if (watched) ui.reopen.hidden = ui.transfer.hidden = true;
      ui.modeNote.hidden = watched;
      ui.modeReply.hidden = watched && !isIn;
      if (bar.modeWhisper) bar.modeWhisper.hidden = !watched;
      bar.modes.hidden = watched && !isIn; // watching only: whispering is all there is
      ui.form.hidden = watched && state.mode === "watch";
      if (bar.root) bar.root.hidden = !watched;
      if (!watched || !bar.root) {
        // Our own chat: who else is in it.
        const others = (conv.participants || []).filter((p) => p.id !== me.id);
        if (others.length) ui.threadStatus.textContent += ` · ${t("console.with_people", { names: others.map((p) => p.name || p.id).join(t("console.list_comma")) })}`;
        return;
      }
      ui.threadStatus.textContent = TEXT.watchingStatus(TEXT.statuses[conv.status] || app.statusLabel(conv.status));
      if (closed) ui.composer.placeholder = TEXT.ended;
      const people = (conv.participants || []).map((p) => ({ ...p, you: p.id === me.id }));
      const holder = closed ? (conv.holder ? TEXT.held(conv.holder) : [app.statusLabel(conv.status)])
        : conv.holder ? TEXT.holder(conv.holder) : [TEXT.queued];
      bar.holder.replaceChildren(...holder, ...(people.length ? TEXT.joined(people) : []));
      bar.whisper.disabled = closed || !conv.holder;
      bar.whisper.setAttribute("aria-pressed", String(state.mode === "whisper"));
      bar.join.textContent = isIn ? TEXT.leave : TEXT.join;
      bar.join.disabled = closed || (!conv.holder && !isIn);
      bar.join.title = !conv.holder && !closed ? TEXT.queuedJoin : "";
      bar.takeOver.textContent = conv.holder || closed ? TEXT.takeOver : TEXT.take;
      bar.takeOver.disabled = closed;
    }

    // The extra line of a watched chat's sidebar entry: who holds it.
    function decorate(conv, button) {
      if (!conv.watching) return;
      button.append(el("span", { className: "conv-holder", testid: "watch-agent" },
        ...TEXT.sidebarHolder(conv.holder)));
    }

    function renderList(convs) {
      if (!bar.list) return;
      bar.list.append(...convs.map((c) => c.item));
      bar.count.textContent = window.ConsoleKit.num(convs.length);
      bar.empty.hidden = convs.length > 0;
    }

    const typingLine = (conv) => (conv.agentTyping !== null && conv.agentTyping !== undefined
      ? TEXT.typing(conv.agentTyping) : "");

    // --- needs attention ---------------------------------------------------------------------
    const attention = window.AgentAttention.create(app, openWatch, TEXT.sidebarHolder);

    // --- wiring -----------------------------------------------------------------------------
    function act(action, extra = {}, target = "") {
      const conv = selected();
      if (!conv || !conv.watching || !state.ready) return;
      pending.set(conv.id, { action, target });
      send({ type: action, conversation_id: conv.id, ...extra });
    }

    function setMode(mode) {
      app.setMode(mode);
      const conv = selected();
      if (conv) app.refresh(conv);
      if (mode !== "watch") ui.composer.focus();
    }

    if (bar.root) {
      bar.whisper.addEventListener("click", () => {
        const conv = selected();
        if (conv) setMode(state.mode === "whisper" ? (joined(conv) ? "reply" : "watch") : "whisper");
      });
      bar.join.addEventListener("click", () => {
        const conv = selected();
        if (conv) act(joined(conv) ? "leave" : "join");
      });
      bar.takeOver.addEventListener("click", () => openTakeOver());
      bar.stop.addEventListener("click", () => { const conv = selected(); if (conv && conv.watching) stopWatching(conv); });
    }
    if (bar.modeWhisper) bar.modeWhisper.addEventListener("click", () => setMode("whisper"));

    // Take over (to me, another agent or a queue) in the transfer dialog; a queued chat is
    // simply taken, as from the queue list.
    function openTakeOver() {
      const conv = selected();
      if (!conv || !conv.watching || CLOSED.has(conv.status)) return;
      if (!conv.holder) return act("claim", {}, "");
      transfer.open(conv, {
        text: TEXT.dialog,
        holder: conv.holder,
        mine: { load: app.openCount(), capacity: state.capacity },
        sent(target) { pending.set(conv.id, { action: "take_over", target }); },
        describe,
      });
    }

    return {
      fromHash, handle, onMessage, unassignedText, failed, fitMode, renderThread, decorate,
      renderList, typingLine, becameMine, openTakeOver,
      wants: (id) => state.watchWanted.has(id),
      ignored: (id) => dropped.has(id),
      drop: (id) => dropped.add(id),
      mayRead: (conv) => !conv.watching || joined(conv),
      privateMode: (conv) => (conv && conv.watching ? "whisper" : "note"),
      // After every welcome: watch again what this tab watched (the server forgot).
      onWelcome(agent) {
        if (agent && agent.role) state.role = agent.role;
        if (!canSupervise()) state.watchWanted.clear();
        for (const conv of state.convs.values()) if (conv.watching) state.watchWanted.add(conv.id);
        for (const id of state.watchWanted) {
          const conv = state.convs.get(id);
          if (conv && !conv.watching) state.watchWanted.delete(id);
          else monitor(id);
        }
        fromHash();
      },
    };
  }

  return { create, TEXT };
})();
