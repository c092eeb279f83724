// Small helpers of the agent console: durations, the visitor's browser and local time,
// notifications (sound and desktop, switchable, kept in localStorage) and read markers
// shared by every tab. Loaded before agent-panels.js and agent.js.
"use strict";

window.ConsoleKit = (() => {
  const { compareIds } = window.ChatCommon;

  // "45 s", "3 m", "1 h 05 m": short enough for a sidebar row.
  function duration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} m`;
    const h = Math.floor(m / 60);
    return `${h} h ${String(m % 60).padStart(2, "0")} m`;
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
    let name = "Unknown browser";
    for (const [label, re] of browsers) {
      const version = find(re);
      if (version) { name = `${label} ${version}`; break; }
    }
    const systems = [
      ["Android", /Android/], ["iOS", /iPhone|iPad|iPod/], ["Windows", /Windows/],
      ["macOS", /Mac OS X|Macintosh/], ["ChromeOS", /CrOS/], ["Linux", /Linux/],
    ];
    const os = systems.find(([, re]) => re.test(ua));
    return os ? `${name} on ${os[0]}` : name;
  }

  // The visitor's wall clock now, from its IANA time zone ("" when unknown or invalid).
  function localTime(timeZone, now = Date.now()) {
    if (!timeZone) return "";
    try {
      const text = new Intl.DateTimeFormat([], {
        timeZone, weekday: "short", hour: "2-digit", minute: "2-digit",
      }).format(now);
      return `${text} (${timeZone})`;
    } catch { return ""; }
  }

  function dateTime(ts) {
    return ts ? new Date(ts).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "";
  }

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

  return { duration, browserOf, localTime, dateTime, settings, setSetting, alert, askDesktopPermission, readMarkers };
})();
