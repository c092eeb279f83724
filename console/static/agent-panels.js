// Panels of the agent console around the thread: the visitor's details and earlier
// conversations, the canned-response picker, and the transfer dialog. agent.js wires them.
// User text only ever reaches the page as text nodes.
"use strict";

window.AgentPanels = (() => {
  const { el } = window.ChatCommon;
  const { browserOf, localTime, dateTime, user, num, duration } = window.ConsoleKit;
  const { t, time: timeOf } = window.I18n;

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status}`);
    return response.json();
  }

  const STATUS_LABELS = {
    queued: "console.state_queued", assigned: "console.state_assigned", waiting_on_agent: "console.state_waiting_on_agent",
    waiting_on_visitor: "console.state_waiting_on_visitor", resolved: "console.state_resolved", missed: "console.state_missed",
    abandoned: "console.state_abandoned", closed: "console.state_closed",
  };
  const statusLabel = (status) => (STATUS_LABELS[status] ? t(STATUS_LABELS[status]) : status || "");

  // A visitor-provided URL becomes a link only when it is plain http(s).
  function pageLink(url, title) {
    const text = title ? `${title} — ${url}` : url;
    if (!/^https?:\/\//i.test(url || "")) return user(el("span", { dir: "auto" }, text || ""));
    return user(el("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow", dir: "auto" }, text));
  }

  // --- visitor details and history -------------------------------------------------------
  function createDetails({ details, history, historyList, onReopen, closed, now = Date.now }) {
    let shown = null; // {conv}
    // What changes live beside a visitor's record (online or gone, this visit's pages), per
    // visitor id: from GET /api/console/visitors/{id} when a chat is opened, then from each
    // `visitor` frame (whose visitor object carries it; conversation summaries do not).
    const contexts = new Map(); // visitor id -> {online, left_at, pages, visits, visit_started}
    const frames = new Map(); // visitor id -> the last visitor object taken from a frame
    const updates = new Map(); // visitor id -> how many frames brought one (stale fetches lose)

    function remember(v) {
      if (!v.id || !Array.isArray(v.pages) || frames.get(v.id) === v) return;
      frames.set(v.id, v);
      updates.set(v.id, (updates.get(v.id) || 0) + 1);
      contexts.set(v.id, v);
    }

    async function loadContext(conv) {
      const visitorId = conv.visitor && conv.visitor.id;
      if (!visitorId) return;
      const before = updates.get(visitorId) || 0;
      let data;
      try {
        data = await getJSON(`/api/console/visitors/${encodeURIComponent(visitorId)}`);
      } catch { return; }
      if ((updates.get(visitorId) || 0) !== before) return; // a frame since is newer
      contexts.set(visitorId, data);
      if (shown && shown.conv.visitor && shown.conv.visitor.id === visitorId) render(shown.conv);
    }

    // "Online now", or "Left 3 m ago" (a date after a day), in the agent's digits and calendar.
    function presence(ctx) {
      if (ctx.online) return el("span", { className: "presence online", testid: "visitor-presence" }, t("console.online_now"));
      const text = !ctx.left_at ? "" : now() - ctx.left_at < 86400000
        ? t("console.left_ago", { time: duration(now() - ctx.left_at) }) : t("console.left_on", { date: dateTime(ctx.left_at) });
      return text ? el("span", { className: "presence gone", testid: "visitor-presence" }, text) : "";
    }

    // This visit's pages, newest first: each title a safe link to its URL (http(s) only).
    function visitPages(pages) {
      if (!pages.length) return "";
      return el("ol", { className: "visit-pages", testid: "visit-pages" }, ...pages.map((p) => {
        const text = p.title || p.url;
        const link = /^https?:\/\//i.test(p.url)
          ? el("a", { href: p.url, target: "_blank", rel: "noopener noreferrer nofollow", dir: "auto", title: p.url }, text)
          : el("span", { dir: "auto", title: p.url }, text);
        return el("li", { testid: "visit-page" }, user(link), " ", el("span", { className: "visit-page-time" }, timeOf(p.ts)));
      }));
    }

    function visitRows(v) {
      const ctx = contexts.get(v.id);
      if (!ctx) return [];
      const visits = ctx.visits || v.visits || 0;
      const started = ctx.visit_started || v.visit_started;
      const end = ctx.online ? now() : ctx.left_at;
      const pages = Array.isArray(ctx.pages) ? ctx.pages : [];
      return [
        [t("console.detail_presence"), presence(ctx)],
        [t("console.detail_visit"), visits > 1 ? t("console.visit_n", { n: visits }) : visits ? t("console.first_visit") : ""],
        [t("console.detail_time_on_site"), started && end ? duration(end - started) : ""],
        [t("console.pages_this_visit", { n: pages.length }), visitPages(pages)],
      ];
    }

    function render(conv) {
      const v = conv.visitor || {};
      const page = v.page || {};
      remember(v);
      // Identity verification (docs/security.md): details the site's backend signed get a
      // "verified" badge; self-declared ones are shown plainly.
      const mark = (value) => (v.verified && value ? el("span", {}, user(el("span", { dir: "auto" }, value)), " ",
        el("span", { className: "count", testid: "verified", title: t("console.verified_by_site", { id: v.user_id }) }, t("console.verified"))) : value);
      // What the visitor's browser or the site reported stays as it came (user content).
      const theirs = (value) => (value && typeof value === "string" ? user(el("span", { dir: "auto" }, value)) : value);
      const rows = [
        [t("console.detail_name"), mark(v.name)], [t("console.detail_email"), mark(v.email)],
        [t("console.detail_user_id"), theirs(v.user_id)],
        [t("console.detail_local_time"), localTime(v.timezone)],
        [t("console.detail_locale"), theirs(v.locale)], [t("console.detail_browser"), theirs(browserOf(v.user_agent))],
        [t("console.detail_page"), page.url ? pageLink(page.url, page.title) : ""],
        [t("console.detail_referrer"), page.referrer ? pageLink(page.referrer, "") : ""],
        [t("console.detail_first_seen"), dateTime(v.first_seen)], [t("console.detail_department"), theirs(conv.department)],
      ];
      rows.splice(2, 0, ...visitRows(v));
      details.replaceChildren(...rows.filter(([, value]) => value).flatMap(([label, value]) => [
        el("dt", {}, label),
        typeof value === "string" ? el("dd", { dir: "auto" }, value) : el("dd", {}, value),
      ]));
    }

    async function loadHistory(conv) {
      const visitorId = conv.visitor && conv.visitor.id;
      if (!visitorId) { history.hidden = true; return; }
      // Fetched each time a chat is opened: statuses change (resolved, reopened).
      let items;
      try {
        items = (await getJSON(`/api/console/visitors/${encodeURIComponent(visitorId)}/conversations`)).items;
      } catch { return; }
      if (!shown || shown.conv !== conv) return; // another chat was selected meanwhile
      const earlier = items.filter((item) => item.id !== conv.id);
      history.hidden = earlier.length === 0;
      historyList.replaceChildren(...earlier.map((item) => historyItem(item)));
    }

    function historyItem(item) {
      const summary = el("summary", {},
        el("span", {}, dateTime(item.created_at)),
        el("span", { className: "history-meta" },
          ` · ${statusLabel(item.status)}`, item.agent && item.agent.name ? " · " : "",
          item.agent && item.agent.name ? user(el("bdi", {}, item.agent.name)) : ""));
      const body = el("ol", { className: "history-messages" });
      const box = el("details", { className: "history-item", testid: "history-item" }, summary, body);
      box.addEventListener("toggle", async () => {
        if (!box.open || box.dataset.loaded) return;
        box.dataset.loaded = "1";
        try {
          const data = await getJSON(`/api/console/conversations/${encodeURIComponent(item.id)}/messages`);
          body.replaceChildren(...data.messages.map(historyLine));
        } catch { body.replaceChildren(el("li", { className: "muted" }, t("console.history_failed"))); }
        if (closed.has(item.status)) {
          const reopen = el("button", { type: "button", className: "button small", testid: "history-reopen" }, t("console.reopen_as_mine"));
          reopen.addEventListener("click", () => onReopen(item.id));
          body.append(el("li", {}, reopen));
        }
      });
      return el("li", {}, box);
    }

    function historyLine(m) {
      const who = m.from === "visitor" ? t("console.visitor") : m.from === "note" ? t("console.note_by", { name: m.author.name })
        : m.from === "system" ? "" : m.from === "bot" ? t("console.bot_by", { name: m.author.name })
        : (m.author && m.author.name) || t("console.agent");
      return el("li", { className: `history-line from-${m.from}${m.event === "transfer_note" ? " from-note" : ""}` },
        user(el("span", { className: "history-who" }, who ? `${who} · ${timeOf(m.ts)}` : timeOf(m.ts)), Boolean(who)),
        m.event === "erased" ? el("span", { className: "history-text", dir: "auto" }, t("console.erased_short"))
          : user(el("span", { className: "history-text", dir: "auto" }, window.Linkify.fragment(m.text || ""))));
    }

    return {
      show(conv) {
        const changed = !shown || shown.conv !== conv;
        shown = { conv };
        render(conv);
        if (changed) { history.hidden = true; historyList.replaceChildren(); loadHistory(conv); loadContext(conv); }
      },
      tick() { if (shown) render(shown.conv); },
    };
  }

  // --- canned responses: the picker is in agent-canned.js (loaded first) ---------------------
  const { createCanned } = window.AgentCanned;

  const AGENT_STATUS = { online: "console.agent_online", away: "console.agent_away", offline: "console.agent_offline" };

  // --- transfer dialog -------------------------------------------------------------------
  // Also the supervisors' take-over (agent-supervise.js passes `takeOver`): the same lists,
  // with "to me" first and without the note.
  function createTransfer({ dialog, me, send }) {
    const q = (id) => dialog.querySelector(`[data-testid="${id}"]`);
    const ui = {
      form: dialog.querySelector("form"), agents: q("transfer-agents"), depts: q("transfer-departments"),
      note: q("transfer-note"), error: q("transfer-error"), submit: q("transfer-submit"), cancel: q("transfer-cancel"),
      title: dialog.querySelector("h2"), legend: dialog.querySelector("legend"),
      noteLabel: dialog.querySelector('label[for="transfer-note"]'),
    };
    const plain = { title: ui.title.textContent, agents: ui.legend.textContent, submit: ui.submit.textContent,
      pick: t("console.transfer_pick") };
    let convId = null;
    let takeOver = null; // {text, holder, mine: {load, capacity}, sent(target), describe(frame)}

    function choice(value, label, detail, enabled, testid) {
      const input = el("input", { type: "radio", name: "target", value, disabled: !enabled });
      return el("li", { testid },
        el("label", { className: enabled ? "" : "disabled" }, input,
          user(el("span", { className: "choice-name", dir: "auto" }, label), !enabled || value.startsWith("agent:") || (value.startsWith("department:") && value !== "department:")),
          el("span", { className: "choice-detail" }, detail)));
    }

    async function open(conv, options = null) {
      convId = conv.id;
      takeOver = options;
      const text = takeOver ? takeOver.text : plain;
      ui.title.textContent = text.title;
      ui.legend.textContent = text.agents;
      ui.submit.textContent = text.submit;
      ui.note.hidden = ui.noteLabel.hidden = Boolean(takeOver);
      ui.error.hidden = true;
      ui.note.value = "";
      ui.submit.disabled = false;
      ui.agents.replaceChildren(el("li", { className: "muted" }, t("console.loading")));
      ui.depts.replaceChildren();
      dialog.showModal();
      let team;
      try { team = await getJSON("/api/console/team"); } catch {
        ui.agents.replaceChildren(el("li", { className: "muted" }, t("console.team_failed")));
        return;
      }
      const holder = takeOver && takeOver.holder;
      const others = team.agents.filter((a) => a.id !== me.id && !(holder && a.id === holder.id));
      const toMe = takeOver ? [choice("me:", text.toMe, `${num(takeOver.mine.load)}/${num(takeOver.mine.capacity)}`, true, "take-over-me")] : [];
      ui.agents.replaceChildren(...toMe, ...(others.length ? others.map((a) => choice(`agent:${a.id}`, a.name || a.id,
        `${t(AGENT_STATUS[a.status] || "console.agent_offline")} · ${num(a.load)}/${num(a.capacity)}`, a.available, "transfer-agent")) : [el("li", { className: "muted" }, t("console.no_other_agents"))]));
      ui.depts.replaceChildren(choice("department:", t("console.general_queue"), "", true, "transfer-department"),
        ...team.departments.map((d) => choice(`department:${d}`, d, "", true, "transfer-department")));
      const first = dialog.querySelector('input[name="target"]:not(:disabled)');
      if (first) first.focus();
    }

    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const picked = dialog.querySelector('input[name="target"]:checked');
      if (!picked) { ui.error.textContent = (takeOver ? takeOver.text : plain).pick; ui.error.hidden = false; return; }
      const [kind, ...rest] = picked.value.split(":");
      const value = rest.join(":");
      let frame;
      if (takeOver) {
        // A compare-and-set: it applies only while the agent seen when the dialog opened still
        // holds the chat (if someone moved it meanwhile, the server says so).
        const holder = takeOver.holder;
        frame = { type: "take_over", conversation_id: convId, from_agent_id: holder ? holder.id : "" };
        if (kind === "agent") frame.to_agent_id = value;
        if (kind === "department") frame.department = value;
        takeOver.sent(kind);
      } else {
        frame = { type: "transfer", conversation_id: convId };
        if (kind === "agent") frame.agent_id = value; else frame.department = value;
        if (ui.note.value.trim()) frame.note = ui.note.value.trim();
      }
      ui.submit.disabled = true;
      ui.error.hidden = true;
      send(frame);
    });
    ui.cancel.addEventListener("click", () => dialog.close());

    return {
      open,
      isOpen: () => dialog.open,
      // The chat left us (or, taken over, moved): the step (from this tab or another) went through.
      done(id) { if (id === convId && dialog.open) dialog.close(); },
      failed(frame) {
        if (!dialog.open || frame.ref !== convId) return false;
        ui.error.textContent = (takeOver && takeOver.describe(frame)) || window.ConsoleKit.errorText(frame);
        ui.error.hidden = false;
        ui.submit.disabled = false;
        return true;
      },
    };
  }

  return { createDetails, createCanned, createTransfer, statusLabel };
})();
