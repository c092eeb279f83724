// chatserver widget loader, served at /widget.js. Embed with:
//   <script src="https://CHAT-HOST/widget.js" data-site="SITE" async></script>
// It frames the chat panel from the chat server's origin (the host page's CSS cannot reach it),
// talks to it only by postMessage with an explicit origin, and never throws into the page.
(() => {
  "use strict";
  const api = window.Chatserver;
  // Included twice: the first copy serves.
  if (api && api.version) return;

  try {
    const script = document.currentScript ||
      document.querySelector('script[src*="/widget.js"][data-site]');
    const ORIGIN = new URL(script.src, location.href).origin;
    const opt = script.dataset;
    // Calls made before we loaded.
    const queued = (api && Array.isArray(api.q)) ? api.q : [];
    const listeners = {};
    const pending = [];
    let frame = null;
    let ready = false;
    // Keeping the frame's storage for it.
    let borrowing = false;
    let open = false;
    let position = opt.position === "left" ? "left" : "right";
    const isPhone = () => window.innerWidth < 540;
    // When the browser refuses the frame its own storage, its keys live in this page's
    // storage under this prefix (only keys the frame names "cs:…", only strings).
    const PREFIX = "chatserver:";
    // sessionStorage: the panel stays open across this tab's pages.
    const OPEN_KEY = `${PREFIX}open`;
    const hostStore = (area, fn) => { try { return fn(window[area]); } catch { return null; } };

    // Inline !important declarations outrank any stylesheet of the host page.
    const style = (props) => {
      for (const [name, value] of Object.entries(props)) frame.style.setProperty(name, value, "important");
    };

    function layout() {
      const side = position === "left" ? "left" : "right";
      const other = side === "left" ? "right" : "left";
      const phone = isPhone();
      let size = { width: "88px", height: "88px", bottom: "0", top: "auto" };
      if (open) {
        size = phone ? { width: "100%", height: "100%", bottom: "0", top: "0" }
          : { width: "min(416px, 100vw)", height: "min(780px, 100vh)", bottom: "0", top: "auto" };
      }
      // CSS zoom on the host page would scale the frame and its content (a panel taller than
      // the screen): undo it, so the panel has the size and text of an unzoomed page.
      const zoom = document.body.currentCSSZoom || 1;
      style({ ...size, [side]: "0", [other]: "auto", zoom: String(1 / zoom) });
      return phone;
    }

    function send(message) {
      if (!ready) return void pending.push(message);
      frame.contentWindow.postMessage({ chatserver: 1, ...message }, ORIGIN);
    }

    const page = () => ({
      url: location.href.slice(0, 2048),
      title: document.title.slice(0, 300),
      referrer: document.referrer.slice(0, 2048),
    });

    function emit(name, detail) {
      for (const fn of listeners[name] || []) {
        // A listener that throws is the page's bug, not ours.
        try { fn(detail); } catch (err) { console.error(err); }
      }
    }

    function onMessage(event) {
      if (!frame || event.source !== frame.contentWindow || event.origin !== ORIGIN) return;
      const m = event.data;
      if (!m || m.chatserver !== 1) return;
      if (m.type === "ready") {
        ready = true;
        const user = who(opt.userId, opt.name, opt.email, opt.issuedAt, opt.signature);
        const reopen = hostStore("sessionStorage", (s) => s.getItem(OPEN_KEY) === "1");
        const init = { chatserver: 1, type: "init", page: page(), user, phone: isPhone(), open: reopen };
        if (m.storage === false) {
          borrowing = true;
          init.storage = hostStore("localStorage", (s) => Object.fromEntries(Object.keys(s)
            .filter((k) => k.startsWith(`${PREFIX}cs:`)).map((k) => [k.slice(PREFIX.length), s.getItem(k)]))) || {};
        }
        frame.contentWindow.postMessage(init, ORIGIN);
        pending.splice(0).forEach(send);
        emit("ready");
      } else if (m.type === "state") {
        // The page hears "open" and "close" from the frame's events (once each), not here.
        const wasOpen = open;
        open = Boolean(m.open);
        if (m.position === "left" || m.position === "right") position = m.position;
        layout();
        hostStore("sessionStorage", (s) => s.setItem(OPEN_KEY, open ? "1" : ""));
        // Opened from the page (not by a click in the frame): give the frame the focus, so
        // the panel can put it on its composer.
        if (open && !wasOpen && document.activeElement !== frame) frame.focus();
        if (open) seen();
      } else if (m.type === "event" && typeof m.name === "string") {
        if (m.name === "message" && (document.hidden || !document.hasFocus())) attention();
        emit(m.name, m.detail);
      } else if (m.type === "store" && borrowing && /^cs:[\w:.-]{1,100}$/.test(m.key)) {
        hostStore("localStorage", (s) => (typeof m.value === "string"
          ? s.setItem(PREFIX + m.key, m.value) : s.removeItem(PREFIX + m.key)));
      }
    }

    // An agent's reply while the page is out of sight or focus: "(2) Title" until the visitor
    // is back, and a chime from the frame unless data-sound="off".
    let unseen = 0, title = "", marked = "";
    function attention() {
      if (!unseen) title = document.title;
      marked = document.title = `(${++unseen}) ${title}`;
      if (opt.sound !== "off") send({ type: "chime" });
    }
    function seen() {
      if (unseen && document.title === marked) document.title = title;
      unseen = 0;
    }
    const back = () => !document.hidden && document.hasFocus() && seen();

    function mount() {
      const params = new URLSearchParams({ site: opt.site || "", host: location.origin });
      for (const key of ["locale", "color", "greeting", "position"]) if (opt[key]) params.set(key, opt[key]);
      if (document.documentElement.lang) params.set("lang", document.documentElement.lang);
      frame = document.createElement("iframe");
      frame.src = `${ORIGIN}/widget/frame?${params}`;
      frame.title = /^fa\b/.test(opt.locale || document.documentElement.lang) ? "گفتگو" : "Chat";
      frame.setAttribute("allow", "clipboard-write");
      frame.setAttribute("data-chatserver", "");
      style({
        position: "fixed", "z-index": "2147483000", display: "block", visibility: "visible",
        opacity: "1", border: "0", margin: "0", padding: "0", background: "transparent",
        "color-scheme": "light", "max-width": "none", "max-height": "none", "min-width": "0",
        "min-height": "0", transform: "none", filter: "none", "clip-path": "none",
        "box-shadow": "none", "pointer-events": "auto", float: "none", "border-radius": "0",
      });
      layout();
      window.addEventListener("message", onMessage);
      window.addEventListener("resize", () => {
        if (frame) send({ type: "layout", phone: layout() });
      });
      // Another tab changed the frame's keys.
      window.addEventListener("storage", (event) => {
        if (borrowing && event.key && event.key.startsWith(`${PREFIX}cs:`)) {
          send({ type: "storage", key: event.key.slice(PREFIX.length), value: event.newValue });
        }
      });
      document.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && open) send({ type: "close" });
      });
      // Focus coming back to the frame is a focus event of its element: captured here.
      window.addEventListener("focus", back, true);
      document.addEventListener("visibilitychange", back);
      // Single-page apps change the URL without a load: tell the agent where the visitor is.
      // (And the focus may come back straight into the frame, which the page hears nothing of.)
      let lastUrl = location.href;
      setInterval(() => {
        back();
        if (location.href !== lastUrl) {
          lastUrl = location.href;
          send({ type: "page", page: page() });
        }
      }, 2000);
      document.body.appendChild(frame);
    }

    // The signed-in customer, in the protocol's names; a signed identity (docs/security.md)
    // goes on as the backend made it.
    const who = (user_id, name, email, issued_at, signature) => ({ user_id, name, email, issued_at, signature });
    const safe = (fn) => (...args) => {
      try { return fn(...args); } catch (err) { console.error(err); return undefined; }
    };

    window.Chatserver = {
      version: 1,
      open: safe(() => send({ type: "open" })),
      close: safe(() => send({ type: "close" })),
      toggle: safe(() => send({ type: "toggle" })),
      setUser: safe((u) => u && send({ type: "user", user: who(u.id, u.name, u.email, u.issued_at, u.signature) })),
      // Events: ready, open, close, unread (count), message ({from, text}), rated (score).
      on: safe((name, fn) => {
        if (typeof fn !== "function") return () => {};
        (listeners[name] = listeners[name] || []).push(fn);
        return () => { listeners[name] = listeners[name].filter((f) => f !== fn); };
      }),
    };

    if (document.body) mount();
    else document.addEventListener("DOMContentLoaded", safe(mount));
    for (const [method, ...args] of queued) {
      if (typeof window.Chatserver[method] === "function") window.Chatserver[method](...args);
    }
  } catch (err) {
    console.error("chatserver widget:", err);
  }
})();
