// The site's notice ("payments are delayed; we are on it"): a banner at the top of the panel,
// in the visitor's language (else the other one), hidden at its expiry or when dismissed for
// this browser session, and a dot on the launcher while the panel is closed. An ES module,
// loaded lazily (widget/lazy.js when the panel opens; chat.js when a notice frame comes first;
// panel.html when the frame is served with a notice), so it weighs nothing before that
// (tests/browser/test_widget_size.py); its strings (notice_*) come with it.
const P = window.ChatPanel;
const { el, linkify } = window.ChatCommon;
const ALL = /*NOTICE_STRINGS*/{};
const S = ALL[P.LOCALE] || ALL.en || {};
const KEY = `cs:notice-hidden:${P.SITE}`;

document.head.append(el("link", { rel: "stylesheet", href: new URL("./notice.css", import.meta.url).href }));
const text = el("p", { className: "notice-text", dir: "auto", testid: "notice-text" });
const dismiss = el("button", { type: "button", className: "icon-button notice-dismiss", testid: "notice-dismiss",
  title: S.notice_dismiss }, "×");
dismiss.setAttribute("aria-label", S.notice_dismiss);
const banner = el("div", { className: "notice", testid: "notice", role: "status", hidden: true }, text, dismiss);
banner.setAttribute("aria-label", S.notice_label);
P.ui.panel.querySelector(".panel-header").after(banner);
const dot = el("span", { className: "notice-dot", testid: "notice-dot", hidden: true });
if (P.ui.launcher) P.ui.launcher.append(dot);

// Dismissed for this browser session; where the browser refuses the frame its own storage,
// in the storage it borrows from the host page (chat.js), until the notice changes.
let session = null;
try { session = window.sessionStorage; session.getItem(KEY); } catch { session = null; }
const hidden = () => { try { return session ? session.getItem(KEY) : P.store.get(KEY); } catch { return null; } };
dismiss.addEventListener("click", () => {
  const id = P.config.notice && P.config.notice.id;
  try { if (session) session.setItem(KEY, id); else P.store.set(KEY, id); } catch { }
  show();
  P.ui.composer.focus();
});

let timer = null;
// Brings the banner and the dot in line with config.notice (the welcome's, a notice frame's
// or the widget config's).
export function show() {
  const notice = P.config.notice;
  const live = Boolean(notice && notice.text && notice.expires_at > Date.now() && notice.id !== hidden());
  clearTimeout(timer);
  banner.hidden = dot.hidden = !live;
  if (!live) return;
  const lang = notice.text[P.LOCALE] ? P.LOCALE : Object.keys(notice.text)[0];
  text.lang = lang;
  text.replaceChildren(...linkify(notice.text[lang] || ""));
  // Timers take at most 2^31-1 ms (about 24 days); a later expiry looks again then.
  timer = setTimeout(show, Math.min(notice.expires_at - Date.now() + 50, 2 ** 31 - 1));
}

// The widget config is refreshed (and may bring a notice) when the panel opens and while it
// is open; each refresh ends in render().
const render = P.render;
P.render = () => {
  render();
  show();
};
show();
