// The supervisors' dashboard: figures pushed over /ws/dashboard (docs/protocol.md), waits
// that keep counting between pushes, charts, and conversation search. Everything a visitor or
// an agent wrote is set with textContent.
"use strict";

(() => {
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  const state = { data: null, receivedAt: 0, department: "" };
  const { t, num } = window.I18n;
  // Counts as digits only ("1001", "۱۰۰۱"); fractions with `digits` decimals.
  const int = (v) => num(v, { useGrouping: false });
  const fixed = (v, digits) => num(v, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
  const two = (v) => num(v, { minimumIntegerDigits: 2, useGrouping: false });

  // The strings of the invariant alarm (the rest are still where they are used).
  const TEXT = {
    unowned: (n) => t("dashboard.unowned", { n }),
    unownedHint: t("dashboard.unowned_hint"),
    unownedCount: (n) => t("dashboard.unowned_count", { n: int(n) }),
    unownedLink: (id) => t("dashboard.unowned_link", { id }),
  };

  // --- formatting --------------------------------------------------------------------------
  function duration(ms) {
    if (ms === null || ms === undefined) return "–";
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return t("dashboard.dur_s", { s: int(s) });
    const m = Math.floor(s / 60);
    if (m < 60) return t("dashboard.dur_m_s", { m: int(m), s: two(s % 60) });
    return t("dashboard.dur_h_m", { h: int(Math.floor(m / 60)), m: two(m % 60) });
  }
  const clock = (ts) => window.I18n.format(ts, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const count = (v) => (Number.isInteger(v) ? int(v) : fixed(v, 1));
  const short = (ms) => (ms < 10000 ? t("dashboard.unit_s", { n: fixed(ms / 1000, 1) }) : ms < 60000 ? t("dashboard.unit_s", { n: int(Math.round(ms / 1000)) })
    : t("dashboard.unit_m", { n: fixed(ms / 60000, ms < 600000 ? 1 : 0) }));
  const stat = (s) => (s.count ? t("dashboard.stat", { median: duration(s.median), p90: duration(s.p90), count: int(s.count) }) : "–");
  const sat = (s) => (s.count ? t("dashboard.satisfaction", { average: fixed(s.average, 2), csat: int(s.csat), count: int(s.count) }) : "–");
  const STATES = {
    queued: "common.status_queued", assigned: "common.status_assigned", waiting_on_agent: "common.status_waiting_on_agent",
    waiting_on_visitor: "common.status_waiting_on_visitor", resolved: "common.status_resolved", missed: "common.status_missed",
    abandoned: "common.status_abandoned", at_risk: "dashboard.sla_at_risk", breached: "dashboard.sla_breached", ok: "dashboard.sla_ok",
    online: "dashboard.agent_online", away: "dashboard.agent_away", offline: "dashboard.agent_offline",
    first: "dashboard.target_first", next: "dashboard.target_next",
  };
  const words = (status) => (STATES[status] ? t(STATES[status]) : String(status || "").replaceAll("_", " "));
  // Names and what people wrote keep their own language (and stay out of the Persian test's check).
  const user = (node) => { node.setAttribute("data-user-content", ""); return node; };

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
    a.textContent = t("dashboard.watch");
    a.title = t("dashboard.watch_title");
    a.setAttribute("aria-label", t("dashboard.watch_label", { visitor: c.visitor_name || t("dashboard.visitor") }));
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
    $("queue-count").textContent = int(now.queue.count);
    const estimate = now.queue.next_estimated_wait_s;
    $("estimated-wait").textContent = now.queue.count === 0 ? t("dashboard.nobody_waiting")
      : estimate === null ? t("dashboard.nobody_online") : duration(estimate * 1000);
    $("agents-online").textContent = `${int(now.agents.online)} / ${int(now.agents.away)}`;
    $("load").textContent = `${int(now.agents.load)} / ${int(now.agents.capacity)}`;
    $("in-progress").textContent = int(now.in_progress);
    $("sla").textContent = `${int(now.sla.breached)} / ${int(now.sla.at_risk)}`;
    $("sla").closest(".tile").dataset.state = now.sla.breached ? "breached" : now.sla.at_risk ? "at_risk" : "ok";
    renderUnowned(now.unowned || { count: 0, items: [] }, now.unresolved.items);
    tick();
    fill($("agents"), now.agents.list, (tr, a) => {
      tr.dataset.status = a.status;
      user(cell(tr, a.name || a.id));
      cell(tr, words(a.status), `status ${a.status}`);
      const td = cell(tr, `${int(a.load)} / ${int(a.capacity)}`);
      const meter = document.createElement("meter");
      meter.max = Math.max(1, a.capacity); meter.value = a.load; meter.high = Math.max(1, a.capacity) - 0.5;
      td.append(" ", meter);
    });
    $("unresolved-count").textContent = int(now.unresolved.count);
    $("unresolved-empty").hidden = now.unresolved.count > 0;
    fill($("unresolved"), now.unresolved.items, (tr, c) => {
      tr.dataset.sla = c.sla.state;
      tr.dataset.id = c.id;
      if (c.visitor_name) user(cell(tr, c.visitor_name)); else cell(tr, t("dashboard.visitor"));
      cell(tr, words(c.status));
      if (c.agent_name) user(cell(tr, c.agent_name)); else cell(tr, "–");
      cell(tr, duration(c.waiting_ms));
      cell(tr, c.since_last_reply_ms === null ? t("dashboard.no_reply_yet") : t("dashboard.ago", { time: duration(c.since_last_reply_ms) }));
      cell(tr, c.sla.state === "none" ? "–" : `${words(c.sla.target)}: ${words(c.sla.state)}`, `sla ${c.sla.state}`);
      cell(tr, "", "watch").append(watchLink(c));
    });
    $("timezone").textContent = t("dashboard.today_from_midnight", { zone: window.I18n.zoneName(data.timezone) });
    const rows = [
      [t("dashboard.chats_started"), (p) => int(p.started)],
      [t("dashboard.missed"), (p) => int(p.missed)],
      [t("dashboard.abandoned"), (p) => int(p.abandoned)],
      [t("dashboard.resolved"), (p) => int(p.resolved)],
      [t("dashboard.wait_median_p90"), (p) => stat(p.wait)],
      [t("dashboard.first_response"), (p) => stat(p.first_response)],
      [t("dashboard.response"), (p) => stat(p.response)],
      [t("dashboard.resolution"), (p) => stat(p.resolution)],
      [t("dashboard.targets_missed"), (p) => `${int(p.sla_first_breaches)} / ${int(p.sla_next_breaches)}`],
      [t("dashboard.satisfaction_row"), (p) => sat(p.satisfaction)],
      // Visitors a help article answered: counted per day only (help_routes.py).
      [t("dashboard.deflected"), (p) => (p.deflected === undefined ? "–" : int(p.deflected))],
    ];
    fill($("periods"), rows, (tr, [label, f]) => { cell(tr, label, "label"); cell(tr, f(data.today)); cell(tr, f(data.last_hour)); });
    fill($("agent-report"), data.agents, (tr, a) => {
      user(cell(tr, a.name || a.id));
      cell(tr, int(a.chats_handled));
      cell(tr, duration(a.first_response.median));
      cell(tr, duration(a.response.median));
      cell(tr, duration(a.resolution.median));
      cell(tr, sat(a.satisfaction));
      cell(tr, duration(a.online_ms));
    });
    // Today's conversations per label of the site (the section shows once the site has one).
    const labels = data.today.labels || [];
    $("labels-section").hidden = !labels.length;
    fill($("label-report"), labels, (tr, l) => {
      const td = document.createElement("td");
      td.append(user(Object.assign(document.createElement("span"), { className: `label-chip label-${l.color}`, textContent: l.name, dir: "auto" })));
      tr.append(td);
      cell(tr, int(l.count), "num");
    });
    drawCharts(data.charts);
    const picker = $("department");
    const known = [...picker.options].map((o) => o.value);
    for (const d of data.departments) {
      if (!known.includes(d)) picker.append(user(new Option(d, d)));
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
        const who = user(document.createElement("span"));
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
    put("queue_length", C.line(charts.queue_length, C.counts, count, t("dashboard.chart_queue"), clock));
    put("longest_wait_ms", C.line(charts.longest_wait_ms, C.durations, short, t("dashboard.chart_wait"), clock));
    put("chats_per_hour", C.bars(charts.chats_per_hour.map((p) => ({ label: clock(p.t), title: clock(p.t), count: p.count })), t("dashboard.chart_hourly")));
    let low = 0;
    const bound = (s) => (s / 60 >= 1 ? t("dashboard.bound_m", { n: int(s / 60) }) : t("dashboard.bound_s", { n: int(s) }));
    put("first_response_today", C.bars(charts.first_response_today.map((b) => {
      const label = b.le === null ? `>${bound(low)}` : `≤${bound(b.le)}`;
      if (b.le !== null) low = b.le;
      return { label, title: label, count: b.count };
    }), t("dashboard.chart_frt")));
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
      if (frame.type === "dashboard") { render(frame.data); live(t("dashboard.live"), "live"); }
      else if (frame.type === "error" && (frame.code === "unauthorized" || frame.code === "forbidden")) {
        live(window.I18n.locale === "en" ? frame.message : t(frame.code === "forbidden" ? "dashboard.err_forbidden" : "dashboard.err_unauthorized"), "closed");
      }
    },
    onLost(code) {
      if (code === 4401 || code === 4403) return false;
      live(t("dashboard.reconnecting"), "connecting");
      return true;
    },
  });

  $("department").addEventListener("change", (event) => {
    state.department = event.target.value;
    socket.send(watch());
    // The CSV exports follow the department picked above (console/export_routes.py).
    for (const input of document.querySelectorAll("[data-export-department]")) input.value = state.department;
  });

  // --- search ------------------------------------------------------------------------------
  $("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(event.target)) if (String(v).trim()) params.set(k, String(v).trim());
    const note = $("search-note");
    note.textContent = t("dashboard.searching");
    const resp = await fetch(`/api/metrics/conversations?${params}`, { credentials: "same-origin" });
    const body = await resp.json();
    if (!resp.ok) {
      note.textContent = window.I18n.locale === "en" ? body.message || "Search failed" : t("dashboard.search_failed");
      return;
    }
    note.textContent = t(body.truncated ? "dashboard.found_truncated" : "dashboard.found", { n: body.items.length, scanned: body.scanned });
    $("search-results").replaceChildren(...body.items.map((c) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "result";
      button.dataset.testid = "search-result";
      const title = user(document.createElement("strong"));
      title.textContent = c.visitor_name || c.visitor;
      title.dir = "auto";
      const meta = document.createElement("span");
      meta.className = "muted";
      meta.append(` ${words(c.status)} · `, c.agent_name ? user(Object.assign(document.createElement("bdi"), { textContent: c.agent_name })) : t("dashboard.no_agent"),
        ` · ${window.I18n.dateTime(c.created_at)}`);
      const text = user(document.createElement("span"));
      text.className = "preview";
      text.dir = "auto";
      text.textContent = c.match || c.preview;
      button.append(title, meta);
      if (c.labels && c.labels.length) {
        const chips = document.createElement("span");
        chips.className = "label-chips";
        chips.dataset.testid = "result-labels";
        for (const l of c.labels) {
          const chip = user(Object.assign(document.createElement("span"), { className: `label-chip label-${l.color}`, textContent: l.name, dir: "auto" }));
          chips.append(chip);
        }
        button.append(chips);
      }
      button.append(text);
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
    $("transcript-title").replaceChildren(user(Object.assign(document.createElement("bdi"), { textContent: c.visitor_name || c.visitor })), ` · ${words(c.status)}`);
    $("transcript-messages").replaceChildren(...body.messages.map((msg) => {
      const li = document.createElement("li");
      li.className = `msg ${msg.from}`;
      const who = document.createElement("span");
      who.className = "who";
      const label = msg.from === "visitor" ? (c.visitor_name || t("dashboard.visitor")) : msg.author.name || msg.from;
      const kind = msg.from === "note" ? t("dashboard.kind_note") : msg.from === "bot" ? t("dashboard.kind_bot") : "";
      if (msg.from === "system") who.textContent = clock(msg.ts);
      else who.append(user(Object.assign(document.createElement("bdi"), { textContent: label })), `${kind} · ${clock(msg.ts)}`);
      const text = document.createElement("p");
      text.dir = "auto";
      if (msg.event === "erased") text.textContent = t("dashboard.erased");
      else if (msg.from === "system") text.textContent = window.I18n.eventText(msg);
      else user(text).append(window.Linkify.fragment(msg.text || ""));
      li.append(who, text);
      return li;
    }));
  }

  setInterval(tick, 1000);
  socket.connect();
})();
