// The supervisors' dashboard: figures pushed over /ws/dashboard (docs/protocol.md), waits
// that keep counting between pushes, charts, and conversation search. Everything a visitor or
// an agent wrote is set with textContent.
"use strict";

(() => {
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  const state = { data: null, receivedAt: 0, department: "" };

  // The strings of the invariant alarm (the rest are still where they are used).
  const TEXT = {
    unowned: (n) => (n === 1 ? "1 chat has no agent and no place in the queue"
      : `${n} chats have no agent and no place in the queue`),
    unownedHint: "Nobody will answer it until the server's sweep puts it back in a queue. Open it to take it or move it:",
    unownedCount: (n) => `Unowned chats: ${n}`,
    unownedLink: (id) => `Watch the chat ${id} in the console`,
  };

  // --- formatting --------------------------------------------------------------------------
  function duration(ms) {
    if (ms === null || ms === undefined) return "–";
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} m ${String(s % 60).padStart(2, "0")} s`;
    return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} m`;
  }
  const clock = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const count = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  const short = (ms) => (ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : ms < 60000 ? `${Math.round(ms / 1000)} s`
    : `${(ms / 60000).toFixed(ms < 600000 ? 1 : 0)} m`);
  const stat = (s) => (s.count ? `${duration(s.median)} · p90 ${duration(s.p90)} (${s.count})` : "–");
  const sat = (s) => (s.count ? `${s.average.toFixed(2)} / 5 · ${s.csat}% happy (${s.count})` : "–");
  const words = (status) => status.replaceAll("_", " ");

  // Unresolved chats open live in the console (docs/protocol.md, Supervision), all in one tab
  // of their own: the links name it, so the dashboard stays where it is.
  const CONSOLE_TAB = "cs-console";
  if (window.name === CONSOLE_TAB) window.name = ""; // this tab was the console: not any more
  function consoleLink(id) {
    const a = document.createElement("a");
    a.href = `/agent#watch=${encodeURIComponent(id)}`;
    a.target = CONSOLE_TAB;
    return a;
  }

  function watchLink(c) {
    const a = consoleLink(c.id);
    a.className = "watch-link";
    a.dataset.testid = "watch-link";
    a.textContent = "Watch";
    a.title = "Open this chat live in the console: watch, whisper, join or take over";
    a.setAttribute("aria-label", `Watch the chat with ${c.visitor_name || "Visitor"}`);
    return a;
  }

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    td.dir = "auto";
    if (cls) td.className = cls;
    row.append(td);
    return td;
  }

  function fill(tbody, rows, build) {
    tbody.replaceChildren(...rows.map((r) => { const tr = document.createElement("tr"); build(tr, r); return tr; }));
  }

  // --- rendering ---------------------------------------------------------------------------
  // Waits shown on the page keep growing between pushes: value + time since the push.
  function tick() {
    if (!state.data) return;
    const q = state.data.now.queue;
    const since = performance.now() - state.receivedAt;
    const grow = (v) => (v === null ? null : v + since);
    $("longest-wait").textContent = duration(grow(q.longest_wait_ms));
    $("median-wait").textContent = duration(grow(q.median_wait_ms));
  }

  function render(data) {
    state.data = data;
    state.receivedAt = performance.now();
    const now = data.now;
    $("queue-count").textContent = String(now.queue.count);
    const estimate = now.queue.next_estimated_wait_s;
    $("estimated-wait").textContent = now.queue.count === 0 ? "nobody waiting"
      : estimate === null ? "nobody online" : duration(estimate * 1000);
    $("agents-online").textContent = `${now.agents.online} / ${now.agents.away}`;
    $("load").textContent = `${now.agents.load} / ${now.agents.capacity}`;
    $("in-progress").textContent = String(now.in_progress);
    $("sla").textContent = `${now.sla.breached} / ${now.sla.at_risk}`;
    $("sla").closest(".tile").dataset.state = now.sla.breached ? "breached" : now.sla.at_risk ? "at_risk" : "ok";
    renderUnowned(now.unowned || { count: 0, items: [] }, now.unresolved.items);
    tick();
    fill($("agents"), now.agents.list, (tr, a) => {
      tr.dataset.status = a.status;
      cell(tr, a.name || a.id);
      cell(tr, a.status, `status ${a.status}`);
      const td = cell(tr, `${a.load} / ${a.capacity}`);
      const meter = document.createElement("meter");
      meter.max = Math.max(1, a.capacity); meter.value = a.load; meter.high = Math.max(1, a.capacity) - 0.5;
      td.append(" ", meter);
    });
    $("unresolved-count").textContent = String(now.unresolved.count);
    $("unresolved-empty").hidden = now.unresolved.count > 0;
    fill($("unresolved"), now.unresolved.items, (tr, c) => {
      tr.dataset.sla = c.sla.state;
      tr.dataset.id = c.id;
      cell(tr, c.visitor_name || "Visitor");
      cell(tr, words(c.status));
      cell(tr, c.agent_name || "–");
      cell(tr, duration(c.waiting_ms));
      cell(tr, c.since_last_reply_ms === null ? "no reply yet" : `${duration(c.since_last_reply_ms)} ago`);
      cell(tr, c.sla.state === "none" ? "–" : `${c.sla.target}: ${words(c.sla.state)}`, `sla ${c.sla.state}`);
      cell(tr, "", "watch").append(watchLink(c));
    });
    $("timezone").textContent = `(today from midnight, ${data.timezone})`;
    const rows = [
      ["Chats started", (p) => String(p.started)],
      ["Missed", (p) => String(p.missed)],
      ["Abandoned", (p) => String(p.abandoned)],
      ["Resolved", (p) => String(p.resolved)],
      ["Wait (median · p90)", (p) => stat(p.wait)],
      ["First response", (p) => stat(p.first_response)],
      ["Response", (p) => stat(p.response)],
      ["Resolution", (p) => stat(p.resolution)],
      ["Targets missed (first / next)", (p) => `${p.sla_first_breaches} / ${p.sla_next_breaches}`],
      ["Satisfaction", (p) => sat(p.satisfaction)],
    ];
    fill($("periods"), rows, (tr, [label, f]) => { cell(tr, label, "label"); cell(tr, f(data.today)); cell(tr, f(data.last_hour)); });
    fill($("agent-report"), data.agents, (tr, a) => {
      cell(tr, a.name || a.id);
      cell(tr, String(a.chats_handled));
      cell(tr, duration(a.first_response.median));
      cell(tr, duration(a.response.median));
      cell(tr, duration(a.resolution.median));
      cell(tr, sat(a.satisfaction));
      cell(tr, duration(a.online_ms));
    });
    drawCharts(data.charts);
    const picker = $("department");
    const known = [...picker.options].map((o) => o.value);
    for (const d of data.departments) {
      if (!known.includes(d)) picker.append(new Option(d, d));
    }
  }

  // The invariant: open chats with neither an owner nor a queue entry. Normally 0, shown
  // quietly; anything else is a defect, shown as an alarm above everything.
  function renderUnowned(unowned, rows) {
    $("unowned-count").textContent = TEXT.unownedCount(unowned.count);
    $("unowned-count").dataset.state = unowned.count ? "alarm" : "ok";
    const alarm = $("unowned-alarm");
    alarm.hidden = !unowned.count;
    if (!unowned.count) return;
    $("unowned-title").textContent = TEXT.unowned(unowned.count);
    $("unowned-hint").textContent = TEXT.unownedHint;
    const names = new Map(rows.map((r) => [r.id, r.visitor_name]));
    $("unowned-items").replaceChildren(...unowned.items.map((id) => {
      const li = document.createElement("li");
      const a = consoleLink(id);
      a.dataset.testid = "unowned-link";
      a.textContent = id;
      a.title = TEXT.unownedLink(id);
      li.append(a);
      if (names.get(id)) {
        const who = document.createElement("span");
        who.dir = "auto";
        who.textContent = names.get(id);
        li.append(" · ", who);
      }
      return li;
    }));
  }

  function drawCharts(charts) {
    const C = window.DashCharts;
    const put = (name, svg) => document.querySelector(`[data-chart="${name}"]`).replaceChildren(svg);
    put("queue_length", C.line(charts.queue_length, C.counts, count, "Queue length", clock));
    put("longest_wait_ms", C.line(charts.longest_wait_ms, C.durations, short, "Longest wait", clock));
    put("chats_per_hour", C.bars(charts.chats_per_hour.map((p) => ({ label: clock(p.t), title: clock(p.t), count: p.count })), "Chats per hour"));
    let low = 0;
    put("first_response_today", C.bars(charts.first_response_today.map((b) => {
      const label = b.le === null ? `>${low / 60 >= 1 ? `${low / 60}m` : `${low}s`}` : b.le >= 60 ? `≤${b.le / 60}m` : `≤${b.le}s`;
      if (b.le !== null) low = b.le;
      return { label, title: label, count: b.count };
    }), "First response time"));
  }

  // --- the socket --------------------------------------------------------------------------
  function live(text, st) { const n = $("live"); n.textContent = text; n.dataset.state = st; }

  const watch = () => ({ type: "watch", department: state.department });

  // The same socket as the widget's and the console's (widget/socket.js): backoff with jitter
  // up to 30 s, frames that are not JSON objects ignored, a retry as soon as the browser is
  // back online. It starts over on each figures frame, and stops once it is told that this
  // account may not watch (4401, 4403), whose error frame says why.
  const socket = window.ChatSocket({
    path: "/ws/dashboard",
    ready: "dashboard",
    hello: watch,
    onFrame(frame) {
      if (frame.type === "dashboard") { render(frame.data); live("Live", "live"); }
      else if (frame.type === "error" && (frame.code === "unauthorized" || frame.code === "forbidden")) {
        live(frame.message, "closed");
      }
    },
    onLost(code) {
      if (code === 4401 || code === 4403) return false;
      live("Reconnecting…", "connecting");
      return true;
    },
  });

  $("department").addEventListener("change", (event) => {
    state.department = event.target.value;
    socket.send(watch());
  });

  // --- search ------------------------------------------------------------------------------
  $("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(event.target)) if (String(v).trim()) params.set(k, String(v).trim());
    const note = $("search-note");
    note.textContent = "Searching…";
    const resp = await fetch(`/api/metrics/conversations?${params}`, { credentials: "same-origin" });
    const body = await resp.json();
    if (!resp.ok) { note.textContent = body.message || "Search failed"; return; }
    note.textContent = `${body.items.length} found among ${body.scanned} conversations` +
      (body.truncated ? " (only the newest were searched; narrow the day)" : "") + ".";
    $("search-results").replaceChildren(...body.items.map((c) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "result";
      button.dataset.testid = "search-result";
      const title = document.createElement("strong");
      title.textContent = c.visitor_name || c.visitor;
      title.dir = "auto";
      const meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = ` ${words(c.status)} · ${c.agent_name || "no agent"} · ${new Date(c.created_at).toLocaleString()}`;
      const text = document.createElement("span");
      text.className = "preview";
      text.dir = "auto";
      text.textContent = c.match || c.preview;
      button.append(title, meta, text);
      button.addEventListener("click", () => showTranscript(c));
      li.append(button);
      return li;
    }));
  });

  async function showTranscript(c) {
    const resp = await fetch(`/api/console/conversations/${encodeURIComponent(c.id)}/messages`, { credentials: "same-origin" });
    if (!resp.ok) return;
    const body = await resp.json();
    $("transcript").hidden = false;
    $("transcript-title").textContent = `${c.visitor_name || c.visitor} · ${words(c.status)}`;
    $("transcript-messages").replaceChildren(...body.messages.map((msg) => {
      const li = document.createElement("li");
      li.className = `msg ${msg.from}`;
      const who = document.createElement("span");
      who.className = "who";
      const label = msg.from === "visitor" ? (c.visitor_name || "Visitor") : msg.author.name || msg.from;
      const kind = msg.from === "note" ? " (note)" : msg.from === "bot" ? " (bot)" : "";
      who.textContent = msg.from === "system" ? clock(msg.ts) : `${label}${kind} · ${clock(msg.ts)}`;
      const text = document.createElement("p");
      text.dir = "auto";
      if (msg.event === "erased") text.textContent = "Erased at the person's request";
      else text.append(window.Linkify.fragment(msg.text || ""));
      li.append(who, text);
      return li;
    }));
  }

  setInterval(tick, 1000);
  socket.connect();
})();
