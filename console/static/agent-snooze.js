// Snoozing in the agent console (docs/protocol.md, "Agent actions", `snooze`): a chat the agent
// holds that waits on the visitor can be set aside until a time (1 hour, 4 hours, tomorrow at
// 09:00 in the agent's time zone, or a date and time within the next 30 days). It leaves the
// working list for the collapsed "Snoozed" group, its thread says until when with a "Wake now"
// button, and it comes back when the snooze ends (the agent-only system message
// `snooze_ended`) or as soon as the visitor or the agent writes (the server then ends it too,
// without a system message). The console learns of snoozes from the `snoozed` /
// `snooze_ended` system messages, folded over the stream in order, and from the summary's
// `snoozed_until` (welcome, assigned, monitoring). agent.js creates it once and owns the state
// it reads; a snoozed conversation is one of state.convs with `snooze` set: {until} (ms, or
// null when the time could not be read). User text only ever reaches the page as text nodes.
"use strict";

window.AgentSnooze = (() => {
  const { el } = window.ChatCommon;
  const { t, time: timeOf } = window.I18n;
  const MINUTE = 60 * 1000;
  const HOUR = 60 * MINUTE;
  const MAX_MS = 30 * 24 * HOUR; // the server's limit
  const MORNING = 9; // "tomorrow at 09:00", in the agent's time zone
  const PENDING_MS = 15000;
  // The text of the `snoozed` system message: "Snoozed until 2024-11-25 09:00 UTC".
  const SNOOZED_TEXT = /(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}) UTC/;

  // Every string of snoozing the console shows (the controls' labels are in agent.html).
  const TEXT = {
    until: (when) => t("console.snooze_until", { when }),
    untilUnknown: t("console.snoozed_lower"),
    thread: (when) => t("console.snoozed_until", { when }),
    threadUnknown: t("console.snoozed"),
    hint: t("console.snooze_hint"),
    watching: (when) => ` · ${t("console.snoozed_until_lower", { when })}`,
    dateTime: (date, time) => t("console.date_and_time", { date, time }),
    back: (visitor) => t("console.snooze_back", { visitor }),
    backAlert: t("console.snooze_back_alert"),
    offline: t("console.not_connected"),
    errors: {
      conflict: t("console.snooze_err_conflict"),
      notSnoozed: t("console.snooze_err_not_snoozed"),
      invalid_field: t("console.snooze_err_invalid"),
      forbidden: t("console.snooze_err_forbidden"),
      conversation_closed: t("console.chat_ended"),
      not_found: t("console.err_not_found"),
      unavailable: t("console.snooze_err_unavailable"),
    },
  };

  const pad = (n) => String(n).padStart(2, "0");
  // The value of an <input type="datetime-local"> for an instant, in the agent's time zone.
  const localValue = (ms) => {
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  };

  // `app`: agent.js's ui, state, me, send, say, q, now (the server's clock), visitorLabel,
  // refresh, visible and alert(key, title, body, conversation id).
  function create(app) {
    const { state, me, send, say, q, now } = app;
    const ui = {
      menu: q("snooze-menu"), toggle: q("snooze"), error: q("snooze-error"), custom: q("snooze-custom-form"),
      at: q("snooze-at"), bar: q("snooze-bar"), info: q("snooze-info"), wake: q("wake"),
      section: q("snoozed-section"), list: q("snoozed"), count: q("snoozed-count"),
    };
    // Conversation id -> {until (0: wake), at}: what we asked for, until answered (an answer
    // lost with the connection must not capture a later error about the chat).
    const pending = new Map();
    const asked = (id) => {
      const entry = pending.get(id);
      return entry && Date.now() - entry.at < PENDING_MS ? entry : null;
    };
    const selected = () => state.convs.get(state.selected);
    let menuFor = null; // the chat the open menu is about

    const isSnoozed = (conv) => Boolean(conv && conv.snooze && !conv.watching && conv.status === "waiting_on_visitor");
    const canSnooze = (conv) => Boolean(conv && !conv.watching && !conv.snooze && conv.status === "waiting_on_visitor");

    // "09:00" today, "Tue 26 Nov, 09:00" on another day (the agent's locale and time zone).
    function when(ms) {
      const time = timeOf(ms);
      if (new Date(ms).toDateString() === new Date(now()).toDateString()) return time;
      return TEXT.dateTime(window.I18n.format(ms, { weekday: "short", day: "numeric", month: "short" }), time);
    }

    function choice(kind) {
      const at = now();
      if (kind === "1h") return at + HOUR;
      if (kind === "4h") return at + 4 * HOUR;
      const d = new Date(at); // tomorrow at 09:00
      d.setDate(d.getDate() + 1);
      d.setHours(MORNING, 0, 0, 0);
      return d.getTime();
    }

    // --- what the stream says ---------------------------------------------------------------
    // The exact time is the summary's or ours; the system message has it to the minute.
    function untilOf(conv, msg) {
      const known = [asked(conv.id)?.until, conv.snooze && conv.snooze.until].filter(Boolean);
      const m = SNOOZED_TEXT.exec(msg.text || "");
      if (!m) return known[0] || null;
      const at = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
      return known.find((k) => k >= at && k < at + MINUTE) || at;
    }

    // Each message newer than the conversation's cursor, in stream order (agent.js's record).
    function onRecord(conv, msg) {
      if (msg.from === "visitor" || msg.from === "agent") conv.snooze = null; // writing ends it
      else if (msg.from !== "system") return;
      else if (msg.event === "snoozed") conv.snooze = { until: untilOf(conv, msg) };
      else if (msg.event === "snooze_ended" || msg.event === "requeued") conv.snooze = null;
    }

    function fromSummary(conv, summary) {
      if (summary.snoozed_until === undefined) return;
      conv.snooze = summary.snoozed_until ? { until: summary.snoozed_until } : null;
    }

    // A message new to this console (live or replayed), after agent.js recorded it.
    function onMessage(conv, msg) {
      if (msg.from !== "system" || !["snoozed", "snooze_ended"].includes(msg.event)) return;
      const mine = Boolean(msg.author && msg.author.id === me.id);
      if (mine) pending.delete(conv.id);
      // Its time came (the server's timer signs nothing): back in the list, with an alert.
      if (msg.event !== "snooze_ended" || mine || !conv.synced || conv.watching) return;
      const visitor = app.visitorLabel(conv.visitor);
      say(TEXT.back(visitor));
      if (!app.visible(conv)) app.alert(`snooze:${msg.id}`, visitor, TEXT.backAlert, conv.id);
    }

    // An error about a snooze of ours; true when it is shown.
    function failed(frame) {
      const entry = asked(frame.ref);
      if (!entry || !TEXT.errors[frame.code]) return false;
      const { until } = entry;
      pending.delete(frame.ref);
      const conv = state.convs.get(frame.ref);
      const notSnoozed = frame.code === "conflict" && until === 0;
      if (notSnoozed && conv) conv.snooze = null; // it had ended already
      say(notSnoozed ? TEXT.errors.notSnoozed : TEXT.errors[frame.code], true);
      if (conv) app.refresh(conv);
      return true;
    }

    // --- the controls -----------------------------------------------------------------------
    function request(conv, until) {
      if (!state.ready) return say(TEXT.offline, true);
      pending.set(conv.id, { until, at: Date.now() });
      send({ type: "snooze", conversation_id: conv.id, until });
      app.refresh(conv);
    }

    function snooze(until) {
      const conv = selected();
      if (!canSnooze(conv)) return;
      ui.menu.open = false;
      request(conv, Math.round(until));
    }

    function showError(text) {
      ui.error.textContent = text;
      ui.error.hidden = false;
    }

    // Each time the menu opens: the times each choice means now, the custom field's limits.
    function prepare() {
      ui.error.hidden = true;
      for (const button of ui.menu.querySelectorAll("[data-snooze]")) {
        const detail = button.querySelector(".choice-detail");
        if (detail) detail.textContent = when(choice(button.dataset.snooze));
      }
      const t = now();
      ui.at.min = localValue(t + MINUTE);
      ui.at.max = localValue(t + MAX_MS);
      ui.at.value = localValue(choice("tomorrow"));
    }

    // On the click that opens it, before it opens ("toggle" comes later, and would overwrite
    // what the agent typed meanwhile).
    ui.toggle.addEventListener("click", () => { if (!ui.menu.open) prepare(); });
    for (const button of ui.menu.querySelectorAll("[data-snooze]")) {
      button.addEventListener("click", () => snooze(choice(button.dataset.snooze)));
    }
    ui.custom.addEventListener("submit", (event) => {
      event.preventDefault();
      // A datetime-local value is a wall-clock time in the agent's time zone.
      const until = ui.at.value ? new Date(ui.at.value).getTime() : NaN;
      if (!Number.isFinite(until) || until <= now() || until > now() + MAX_MS) return showError(TEXT.errors.invalid_field);
      snooze(until);
    });
    ui.menu.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      ui.menu.open = false;
      ui.toggle.focus();
      event.preventDefault();
    });
    document.addEventListener("click", (event) => {
      if (ui.menu.open && !ui.menu.contains(event.target)) ui.menu.open = false;
    });
    ui.wake.addEventListener("click", () => {
      const conv = selected();
      if (isSnoozed(conv) && asked(conv.id)?.until !== 0) request(conv, 0);
    });

    // --- the thread and the list ------------------------------------------------------------
    function renderThread(conv) {
      if (menuFor !== conv.id) ui.menu.open = false; // another chat is on screen
      menuFor = conv.id;
      ui.menu.hidden = !canSnooze(conv);
      if (ui.menu.hidden) ui.menu.open = false;
      const snoozed = isSnoozed(conv);
      ui.bar.hidden = !snoozed;
      if (snoozed) {
        const until = conv.snooze.until;
        ui.info.replaceChildren(el("strong", {}, until ? TEXT.thread(when(until)) : TEXT.threadUnknown),
          " ", el("span", { className: "muted" }, TEXT.hint));
        ui.wake.disabled = asked(conv.id)?.until === 0;
      }
      // A supervisor watching someone's snoozed chat.
      if (conv.watching && conv.snooze && conv.snooze.until && conv.status === "waiting_on_visitor") {
        app.ui.threadStatus.textContent += TEXT.watching(when(conv.snooze.until));
      }
    }

    // The extra line of a snoozed chat's sidebar entry: until when.
    function decorate(conv, button) {
      if (!isSnoozed(conv)) return;
      const until = conv.snooze.until;
      button.append(el("span", { className: "conv-snooze", testid: "snoozed-until" },
        until ? TEXT.until(when(until)) : TEXT.untilUnknown));
    }

    // The "Snoozed" group: the soonest back first; hidden while there is none.
    function renderList(convs) {
      const soon = (c) => c.snooze.until || Infinity;
      ui.list.append(...[...convs].sort((a, b) => soon(a) - soon(b)).map((c) => c.item));
      ui.count.textContent = window.ConsoleKit.num(convs.length);
      ui.section.hidden = convs.length === 0;
    }

    return { isSnoozed, fromSummary, onRecord, onMessage, failed, renderThread, decorate, renderList };
  }

  return { create, TEXT };
})();
