// Help articles while the visitor types their first message: up to three suggestions above the
// composer (the ones pinned to this page first, even before typing; then what matches the
// words typed, asked of GET /api/widget/articles a moment after the typing pauses). One opens
// inside the panel; "This answered my question" counts a deflection, "I still need help" goes
// back to the composer. When the visitor then writes, the articles they read are reported
// with the new conversation (POST /api/widget/articles/read), so the agent sees them.
// An ES module loaded lazily (widget/lazy.js, when the panel opens): nothing of it weighs on
// the page before that (tests/browser/test_widget_size.py); its strings (article_*) come with it.
const P = window.ChatPanel;
const { el } = window.ChatCommon;
const ALL = /*ARTICLE_STRINGS*/{};
const S = ALL[P.LOCALE] || ALL.en || {};
const WAIT_MS = 300;
const api = (path, params = {}) =>
  `/api/widget/articles${path}?${new URLSearchParams({ site: P.SITE, ...params })}`;

document.head.append(el("link", { rel: "stylesheet", href: new URL("./articles.css", import.meta.url).href }));
const list = el("ul", { className: "article-list" });
const box = el("div", { className: "articles", testid: "article-suggestions", hidden: true },
  el("p", { className: "articles-title" }, S.article_suggested), list);
box.setAttribute("role", "region");
box.setAttribute("aria-label", S.article_suggested);
P.ui.form.before(box);

const title = el("h2", { className: "article-title", dir: "auto", testid: "article-view-title", tabIndex: -1 });
const body = el("div", { className: "article-body", dir: "auto", testid: "article-body" });
const answered = el("button", { type: "button", className: "primary-button", testid: "article-answered" }, S.article_answered);
const more = el("button", { type: "button", className: "text-button article-more", testid: "article-more-help" }, S.article_more_help);
const thanks = el("p", { className: "article-thanks", testid: "article-thanks", role: "status", hidden: true }, S.article_thanks);
const view = el("section", { className: "article-view", testid: "article-view", hidden: true },
  title, body, thanks, el("div", { className: "article-actions" }, answered, more));
view.setAttribute("aria-label", S.article_label);
P.ui.form.before(view);

// Read in this panel, in order; reported once, when the visitor's first message has made a
// conversation.
const read = [];
let reported = false;
let timer = null;
let asked = "";
let shown = null;
// Where the first message is being written: the composer, or the form asking for an e-mail
// address first (nobody online, or the site asks who the visitor is).
// What was typed before this module arrived counts too.
const fields = [P.ui.composer, P.ui.start.elements.message];
let source = fields.find((f) => f.value.trim()) || P.ui.composer;

// Only before the first message: once there is a conversation an agent answers instead.
const first = () => !P.state.conversationId && !P.state.history.size && !P.state.outbox.length;
const page = () => ((P.state.page && P.state.page.url) || (P.FRAME ? "" : location.href)).slice(0, 2048);

async function suggest() {
  const q = source.value.trim().slice(0, 200);
  const key = `${q}\n${page()}`;
  if (!first() || key === asked) return;
  asked = key;
  let items = [];
  try {
    const params = { q, lang: P.LOCALE };
    if (/^https?:\/\//.test(page())) params.page = page();
    const res = await fetch(api("", params));
    if (res.ok) items = (await res.json()).items || [];
  } catch { }
  // A later question may have been asked meanwhile: only the latest is shown.
  if (asked !== key) return;
  list.replaceChildren(...items.slice(0, 3).map((a) => el("li", {},
    el("button", { type: "button", className: "article-link", dir: "auto", testid: "article-suggestion",
      onclick: () => open(a.id) }, a.title))));
  box.hidden = !items.length || !first();
}

async function open(id) {
  let article = null;
  try {
    const res = await fetch(api(`/${encodeURIComponent(id)}`));
    if (res.ok) article = await res.json();
  } catch { }
  if (!article) return P.say(S.article_failed, true);
  shown = article;
  if (!read.includes(article.id)) read.push(article.id);
  title.textContent = article.title;
  title.lang = article.lang;
  // The server's rendering of the Markdown: no HTML the writer typed, links only to
  // http, https and mailto (chatserver/core/articles.py); the frame's CSP runs no inline script.
  body.innerHTML = article.html;
  body.lang = article.lang;
  for (const a of body.querySelectorAll("a")) Object.assign(a, { target: "_blank", rel: "noopener noreferrer nofollow" });
  thanks.hidden = true;
  answered.hidden = false;
  view.hidden = false;
  P.ui.panel.classList.add("reading");
  title.focus();
}

function back() {
  view.hidden = true;
  shown = null;
  P.ui.panel.classList.remove("reading");
  source.focus();
}

answered.addEventListener("click", async () => {
  if (!shown) return;
  answered.hidden = true;
  thanks.hidden = false;
  try { await fetch(api(`/${encodeURIComponent(shown.id)}/deflected`), { method: "POST" }); } catch { }
});
more.addEventListener("click", back);
view.addEventListener("keydown", (event) => {
  if (event.key === "Escape") { event.stopPropagation(); event.preventDefault(); back(); }
});

for (const field of fields) {
  field.addEventListener("input", () => {
    source = field;
    clearTimeout(timer);
    timer = setTimeout(suggest, WAIT_MS);
  });
}

function report() {
  const token = P.store.get(P.KEYS.token);
  if (reported || !read.length || !P.state.conversationId || !token) return;
  reported = true;
  fetch(api("/read"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token, conversation_id: P.state.conversationId, articles: read.slice(0, 10) }),
  }).catch(() => { });
}

// Each change of the panel ends in render(): the suggestions go once the chat has begun.
const render = P.render;
P.render = () => {
  render();
  if (!first()) box.hidden = true;
  report();
};
suggest();
