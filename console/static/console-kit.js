// Small helpers of the agent console: durations, the visitor's browser and local time,
// notifications (sound and desktop, switchable, kept in localStorage) and read markers
// shared by every tab. Loaded before agent-panels.js and agent.js.
"use strict";

window.ConsoleKit = (() => {
  const { compareIds } = window.ChatCommon;
  const { t, num } = window.I18n;

  // "45 s", "3 m", "1 h 05 m" ("۴۵ ث", …): short enough for a sidebar row.
  function duration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return t("common.dur_s", { n: s });
    const m = Math.floor(s / 60);
    if (m < 60) return t("common.dur_m", { n: m });
    const h = Math.floor(m / 60);
    return t("common.dur_h_m", { n: h, m: num(m % 60, { minimumIntegerDigits: 2 }) });
  }

  // Marks what people wrote or named (messages, names, pages) as theirs: it keeps its own
  // language and direction, and the Persian test leaves it out of "no Latin letters".
  function user(node, yes = true) {
    if (yes) node.setAttribute("data-user-content", "");
    return node;
  }

  // `text` with the person's `name` in it as user content (a node of its own), unless it is
  // the reader's own "You".
  function named(text, name, ours = false) {
    const i = name && !ours ? text.indexOf(name) : -1;
    if (i < 0) return [text];
    return [text.slice(0, i), user(window.ChatCommon.el("bdi", {}, name)), text.slice(i + name.length)];
  }

  // The server's error, in the agent's words: its English message as it stands in English,
  // a sentence per error code in the other languages.
  const ERRORS = {
    conflict: "console.error_conflict", capacity: "console.error_capacity", not_found: "console.error_not_found",
    forbidden: "console.error_forbidden", invalid_field: "console.error_invalid_field",
    conversation_closed: "console.error_conversation_closed", rate_limited: "console.error_rate_limited",
    unavailable: "console.error_unavailable", too_large: "console.error_too_large",
    unauthorized: "console.error_unauthorized", file_not_found: "console.error_file_not_found",
  };
  function errorText(frame) {
    if (window.I18n.locale === "en") return frame.message || `Error: ${frame.code}`;
    return t(ERRORS[frame.code] || "console.error_generic");
  }

  // A readable "Chrome 126 on Windows" from a user agent; order matters (Edge says Chrome too).
  function browserOf(ua) {
    if (!ua) return "";
    const find = (re) => { const m = ua.match(re); return m ? m[1].split(".")[0] : null; };
    const browsers = [
      ["Edge", /Edg(?:e|A|iOS)?\/([\d.]+)/], ["Opera", /OPR\/([\d.]+)/],
      ["Samsung Internet", /SamsungBrowser\/([\d.]+)/], ["Firefox", /(?:Firefox|FxiOS)\/([\d.]+)/],
      ["Chrome", /(?:Chrome|CriOS)\/([\d.]+)/], ["Safari", /Version\/([\d.]+).*Safari/],
    ];
    let name = t("console.unknown_browser");
    for (const [label, re] of browsers) {
      const version = find(re);
      if (version) { name = `${label} ${version}`; break; }
    }
    const systems = [
      ["Android", /Android/], ["iOS", /iPhone|iPad|iPod/], ["Windows", /Windows/],
      ["macOS", /Mac OS X|Macintosh/], ["ChromeOS", /CrOS/], ["Linux", /Linux/],
    ];
    const os = systems.find(([, re]) => re.test(ua));
    return os ? t("console.browser_on", { browser: name, os: os[0] }) : name;
  }

  // The visitor's wall clock now, from its IANA time zone ("" when unknown or invalid).
  function localTime(timeZone, now = Date.now()) {
    if (!timeZone) return "";
    try {
      const text = window.I18n.zoned(now, timeZone, { weekday: "short", hour: "2-digit", minute: "2-digit" });
      return `${text} (${window.I18n.zoneName(timeZone, now)})`;
    } catch { return ""; }
  }

  const dateTime = (ts) => window.I18n.dateTime(ts);

  // --- notifications ---------------------------------------------------------------------
  const SETTINGS_KEY = "cs:console:alerts";
  const settings = (() => {
    try { return { sound: true, desktop: false, ...JSON.parse(localStorage.getItem(SETTINGS_KEY)) }; } catch { return { sound: true, desktop: false }; }
  })();

  function setSetting(name, value) {
    settings[name] = Boolean(value);
    try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings)); } catch { /* private mode */ }
  }

  let audio = null;
  function chime() {
    try {
      audio = audio || new AudioContext();
      const start = audio.currentTime;
      for (const [i, freq] of [880, 1320].entries()) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, start + i * 0.12);
        gain.gain.exponentialRampToValueAtTime(0.12, start + i * 0.12 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.12 + 0.25);
        osc.connect(gain).connect(audio.destination);
        osc.start(start + i * 0.12);
        osc.stop(start + i * 0.12 + 0.3);
      }
    } catch { /* no audio device: the title and badge still show it */ }
  }

  // Several tabs of one console hear the same event: only the first to claim it alerts.
  function firstToClaim(key) {
    const mark = `cs:console:alerted:${key}`;
    try {
      if (localStorage.getItem(mark)) return false;
      localStorage.setItem(mark, String(Date.now()));
      setTimeout(() => localStorage.removeItem(mark), 60000);
    } catch { /* fall through: alert anyway */ }
    return true;
  }

  // key: unique per event (a message id); title/body are text, never markup.
  function alert(key, title, body, onClick) {
    if (!firstToClaim(key)) return;
    if (settings.sound) chime();
    if (settings.desktop && "Notification" in window && Notification.permission === "granted" && document.hidden) {
      const note = new Notification(title, { body: body.slice(0, 140), tag: key });
      note.onclick = () => { window.focus(); if (onClick) onClick(); note.close(); };
    }
  }

  async function askDesktopPermission() {
    if (!("Notification" in window)) return false;
    if (Notification.permission === "granted") return true;
    if (Notification.permission === "denied") return false;
    return (await Notification.requestPermission()) === "granted";
  }

  // --- read markers (per agent, shared by tabs) ------------------------------------------
  function readMarkers(agentId, onChange) {
    const key = `cs:console:read:${agentId}`;
    const load = () => { try { return JSON.parse(localStorage.getItem(key)) || {}; } catch { return {}; } };
    let marks = load();
    window.addEventListener("storage", (event) => {
      if (event.key !== key) return;
      marks = load();
      onChange();
    });
    return {
      get: (convId) => marks[convId] || null,
      set(convId, id) {
        if (!id || (marks[convId] && compareIds(marks[convId], id) >= 0)) return false;
        marks = load();
        marks[convId] = id;
        const ids = Object.keys(marks);
        if (ids.length > 500) delete marks[ids[0]]; // bounded: oldest first in insertion order
        try { localStorage.setItem(key, JSON.stringify(marks)); } catch { /* full */ }
        return true;
      },
    };
  }

  return { duration, num, user, named, errorText, browserOf, localTime, dateTime, settings, setSetting, alert, askDesktopPermission, readMarkers };
})();
