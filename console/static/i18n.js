// The console's strings, numbers and dates in the agent's language and calendar
// (docs/i18n.md). The page carries its strings in a JSON block (#i18n, written by
// console/i18n.py); every other script of the console loads after this one.
"use strict";

window.I18n = (() => {
  let data = { locale: "en", tag: "en-u-ca-gregory", calendar: "gregory", dir: "ltr", strings: {} };
  try {
    const block = document.getElementById("i18n");
    if (block) data = { ...data, ...JSON.parse(block.textContent) };
  } catch { /* a broken block: English keys show, the console still works */ }
  const { locale, calendar, dir, strings } = data;
  // The browser's own tag when it speaks the page's language (en-GB writes 24-hour times,
  // en-US does not), else the server's (fa-IR); with the agent's calendar either way.
  const tag = (() => {
    const own = (navigator.languages || [navigator.language]).find((l) => l && l.split("-")[0].toLowerCase() === locale);
    const base = (own || data.tag).split("-u-")[0];
    try { return Intl.getCanonicalLocales(`${base}-u-ca-${calendar}`)[0]; } catch { return data.tag; }
  })();
  const plurals = new Intl.PluralRules(locale);
  const numbers = new Intl.NumberFormat(locale);

  // 1234 -> "1,234" / "۱٬۲۳۴".
  const num = (n, options) => (options ? new Intl.NumberFormat(locale, options) : numbers).format(n);

  // t("console.unread", { n: 3 }): the plural by `n`, {placeholders} filled, numbers in the
  // locale's digits. A missing key shows as itself (the catalogue test fails on it first).
  function t(key, vars = {}) {
    let entry = strings[key];
    if (entry === undefined) return key;
    if (typeof entry === "object") {
      const n = typeof vars.n === "number" ? vars.n : 0;
      entry = entry[plurals.select(n)] ?? entry.other;
    }
    return entry.replace(/\{([a-z_][a-z0-9_]*)\}/g, (whole, name) => {
      const value = vars[name];
      if (value === undefined || value === null) return whole;
      return typeof value === "number" ? num(value) : String(value);
    });
  }

  const has = (key) => Object.prototype.hasOwnProperty.call(strings, key);

  // Dates and times in the agent's locale and calendar (the tag carries -u-ca-…), so a
  // fa-IR browser's Solar Hijri dates never end up inside English words, nor the reverse.
  const formats = new Map();
  function format(ts, options) {
    const id = JSON.stringify(options);
    if (!formats.has(id)) formats.set(id, new Intl.DateTimeFormat(tag, options));
    return formats.get(id).format(ts);
  }
  const time = (ts) => format(ts || Date.now(), { hour: "2-digit", minute: "2-digit" });
  const date = (ts, options = { dateStyle: "medium" }) => format(ts, options);
  const dateTime = (ts) => (ts ? format(ts, { dateStyle: "medium", timeStyle: "short" }) : "");
  // A wall clock in another time zone (the visitor's); throws RangeError on a bad zone.
  const zoned = (ts, timeZone, options) => new Intl.DateTimeFormat(tag, { ...options, timeZone }).format(ts);
  // An IANA zone as the reader says it: the id itself in English (what admins type), the
  // zone's long name in other languages ("وقت عادی ایران"); the id when Intl has no name.
  function zoneName(timeZone, ts = Date.now()) {
    if (locale === "en") return timeZone;
    try {
      const part = new Intl.DateTimeFormat(tag, { timeZone, timeZoneName: "long" }).formatToParts(ts)
        .find((p) => p.type === "timeZoneName");
      return part ? part.value : timeZone;
    } catch { return timeZone; }
  }

  // A system line (msg.event, msg.text, msg.author) in the reader's language: the server
  // writes it in English with the event's kind and the name of whom it concerns, which is all
  // a translation needs; English pages show the server's own words.
  const EVENTS = {
    assigned: "common.event_assigned", resolved: "common.event_resolved", transferred: "common.event_transferred",
    requeued: "common.event_requeued", reopened: "common.event_reopened", taken_over: "common.event_taken_over",
    monitor_started: "common.event_monitor_started", joined: "common.event_joined", snoozed: "common.event_snoozed",
    snooze_ended: "common.event_snooze_ended", mail_failed: "common.event_mail_failed", place_kept: "common.event_place_kept",
    nudge: "common.event_nudge", parked: "common.event_parked", queue_timeout: "common.event_queue_timeout",
    missed: "common.event_missed", abandoned: "common.event_abandoned", rated: "common.event_rated",
  };
  function eventText(msg) {
    const key = EVENTS[msg.event];
    if (locale === "en" || !key) return msg.text || "";
    const score = /(\d)\/5/.exec(msg.text || "");
    return t(key, { name: (msg.author && msg.author.name) || t("common.someone"), n: score ? Number(score[1]) : 0 });
  }

  return { eventText, locale, tag, calendar, dir, t, has, num, plural: (n) => plurals.select(n), time, date, dateTime, zoned, zoneName, format };
})();
