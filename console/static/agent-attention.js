// The "Needs attention" list of a supervisor's or admin's console: the escalations their
// sockets hear for any open chat of the site (docs/protocol.md, Supervision): a response
// target at risk or missed, and a queued visitor who left an e-mail and still waits. Each
// entry offers Watch (agent-supervise.js opens the chat as monitored) and Dismiss.
// agent-supervise.js creates it once; user text only ever reaches the page as text nodes.
"use strict";

window.AgentAttention = (() => {
  const { el } = window.ChatCommon;
  const { t, time: timeOf } = window.I18n;

  // Its strings (the heading and the empty line are in agent.html).
  const TEXT = {
    what: {
      first: { at_risk: t("console.first_at_risk"), breached: t("console.first_missed") },
      next: { at_risk: t("console.next_at_risk"), breached: t("console.next_missed") },
      email: { follow_up: t("console.email_follow_up") },
    },
    at: (time) => t("console.at_time", { time }),
    watch: t("console.watch"),
    watchLabel: (visitor) => t("console.watch_label", { visitor }),
    dismiss: t("console.dismiss"),
    dismissLabel: (visitor) => t("console.dismiss_label", { visitor }),
    alertBody: (visitor, agent) => `${visitor} · ${agent ? agent.name || agent.id : t("console.in_the_queue")}`,
  };

  // follow_up (clock "email"): a queued visitor who left an e-mail still waits for a reply.
  const LEVELS = ["at_risk", "breached", "follow_up"];
  const CLOCKS = ["first", "next", "email"];
  const ATTENTION_LIMIT = 50; // entries kept; the oldest go first

  // "Needs attention": one entry per chat and clock, newest first; a breach replaces the
  // at-risk entry of its clock. An entry goes when its chat is watched (`settle`), dismissed,
  // or ends while this console follows it; a chat it does not follow may end unheard of, and
  // dismissing it is then enough. Kept for this tab across a reload (the server does not
  // send escalations again).
  function create(app, openWatch, holderLine) {
    const list = app.q("escalations");
    const count = app.q("escalations-count");
    const empty = app.q("escalations-empty");
    const section = app.q("attention-section");
    const storeKey = `cs:agent:${app.me.id}:attention`;
    const T = TEXT;
    let entries = [];
    try {
      const kept = JSON.parse(sessionStorage.getItem(storeKey));
      if (Array.isArray(kept)) entries = kept.filter((e) => e && e.id && e.key && Number.isFinite(e.at) &&
        LEVELS.includes(e.level) && CLOCKS.includes(e.clock));
    } catch { /* nothing kept */ }

    function save() {
      try { sessionStorage.setItem(storeKey, JSON.stringify(entries)); } catch { /* full or disabled */ }
    }

    function remove(test) {
      const before = entries.length;
      entries = entries.filter((e) => !test(e));
      if (entries.length === before) return;
      save();
      render();
    }

    function render() {
      if (!list) return;
      list.replaceChildren(...entries.map(item));
      count.textContent = window.ConsoleKit.num(entries.length);
      empty.hidden = entries.length > 0;
      section.dataset.level = entries.some((e) => e.level === "breached") ? "breached"
        : entries.length ? "at_risk" : "";
    }

    function item(entry) {
      const visitor = app.visitorLabel(entry.visitor);
      const watch = el("button", { type: "button", className: "button small primary", testid: "escalation-watch" }, T.watch);
      watch.setAttribute("aria-label", T.watchLabel(visitor));
      watch.addEventListener("click", () => openWatch(entry.id));
      const dismiss = el("button", { type: "button", className: "button small subtle", testid: "escalation-dismiss" }, T.dismiss);
      dismiss.setAttribute("aria-label", T.dismissLabel(visitor));
      dismiss.addEventListener("click", () => remove((e) => e.key === entry.key));
      const when = el("time", { className: "escalation-time", testid: "escalation-time" }, T.at(timeOf(entry.at)));
      when.dateTime = new Date(entry.at).toISOString();
      const li = el("li", { className: "escalation", testid: "escalation" },
        el("div", { className: "escalation-head" },
          window.ConsoleKit.user(el("span", { className: "conv-name", dir: "auto", testid: "escalation-visitor" }, visitor)), when),
        el("p", { className: "escalation-what", testid: "escalation-what" }, T.what[entry.clock][entry.level]),
        el("p", { className: "escalation-agent", testid: "escalation-agent" }, ...holderLine(entry.agent)),
        el("div", { className: "escalation-actions" }, watch, dismiss));
      li.dataset.id = entry.id;
      li.dataset.clock = entry.clock;
      li.dataset.level = entry.level;
      return li;
    }

    function add(frame) {
      const id = frame.conversation_id;
      const { level, clock } = frame;
      if (!id || !LEVELS.includes(level) || !CLOCKS.includes(clock)) return;
      const summary = frame.conversation || {};
      if (app.CLOSED.has(summary.status)) return;
      const key = `${id}|${clock}`;
      const since = summary.unanswered_since || null; // which turn of the clock it is about
      const old = entries.find((e) => e.key === key);
      // A late at-risk never hides the breach of the same turn.
      if (old && old.level === "breached" && level === "at_risk" && old.since === since) return;
      const agent = summary.agent || (frame.agent_id ? { id: frame.agent_id, name: "" } : null);
      const entry = { key, id, clock, level, since, agent, visitor: summary.visitor || null, at: app.now() };
      entries = [entry, ...entries.filter((e) => e.key !== key)].slice(0, ATTENTION_LIMIT);
      save();
      render();
      if (level === "breached") {
        const visitor = app.visitorLabel(entry.visitor);
        window.ConsoleKit.alert(`escalation:${key}:${since || ""}`, T.what[clock][level],
          T.alertBody(visitor, agent), () => openWatch(id));
      }
    }

    render();
    return { add, settle: (id) => remove((e) => e.id === id) };
  }

  return { create, TEXT };
})();
