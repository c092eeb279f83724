// The transcript by e-mail: a header button that asks the server to e-mail this chat's
// transcript to the visitor (POST /api/widget/transcript, docs/protocol.md). Loaded lazily, by
// chat-frame.js (through widget/lazy.js) when the panel first opens, so it weighs nothing before
// that (tests/browser/test_widget_size.py); its strings come with it (the server writes the
// transcript_* strings of widget/i18n.json over the empty object as it loads this file).
// An ES module: it runs once, however often it is imported.
const P = window.ChatPanel;
const { el } = window.ChatCommon;
const ALL = /*TRANSCRIPT_STRINGS*/{};
const S = ALL[P.LOCALE] || ALL.en || {};
const t = (key, vars = {}) => (S[key] || key).replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? "");

// An envelope: the header has room for an icon beside "End chat", not for another label.
const SVG = "http://www.w3.org/2000/svg";
const icon = document.createElementNS(SVG, "svg");
icon.setAttribute("viewBox", "0 0 24 24");
icon.setAttribute("aria-hidden", "true");
const path = document.createElementNS(SVG, "path");
path.setAttribute("d", "M4 6h16v12H4z M4 7l8 6 8-6");
icon.append(path);
const button = el("button", { type: "button", className: "icon-button", testid: "transcript", hidden: true,
  title: t("transcript_button") }, icon);
button.setAttribute("aria-label", t("transcript_button"));
const card = el("li", { className: "card", testid: "transcript-card", hidden: true });
P.ui.end.before(button);

const conversationId = () => P.state.conversationId || (P.state.ended && P.state.ended.id) || "";

// Shown once there is a conversation (the server has given the visitor a token for it).
function sync() {
  const want = !conversationId() || !P.store.get(P.KEYS.token);
  if (button.hidden !== want) button.hidden = want;
}
new MutationObserver(sync).observe(P.ui.list, { childList: true });
sync();

function show(...children) {
  card.replaceChildren(...children);
  card.hidden = false;
  if (card.parentNode !== P.ui.list) P.ui.list.append(card);
}

function askEmail() {
  const input = el("input", { type: "email", name: "email", autocomplete: "email", dir: "ltr", required: true, maxLength: 254 });
  input.setAttribute("aria-label", t("transcript_ask"));
  const form = el("form", { className: "inline-form", testid: "transcript-email", noValidate: true }, input,
    el("button", { type: "submit", className: "primary-button" }, t("transcript_send")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const email = input.value.trim();
    input.setAttribute("aria-invalid", String(!email || !input.checkValidity()));
    if (!email || !input.checkValidity()) return input.focus();
    request(email);
  });
  show(el("p", {}, t("transcript_ask")), form);
  input.focus();
}

async function request(email) {
  button.disabled = true;
  try {
    const response = await fetch("/api/widget/transcript", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        site: P.SITE, token: P.store.get(P.KEYS.token), conversation_id: conversationId(),
        ...(email ? { email } : {}),
      }),
    });
    const body = await response.json();
    if (response.ok) {
      show(el("p", { testid: "transcript-sent" }, t("transcript_sent", { email: body.to })));
    } else if (body.error && body.error.code === "email_required") {
      askEmail();
    } else {
      show(el("p", { className: "error" }, t(response.status === 429 ? "transcript_limited" : "transcript_failed")));
    }
  } catch {
    show(el("p", { className: "error" }, t("transcript_failed")));
  } finally {
    button.disabled = false;
  }
}

button.addEventListener("click", () => request(P.state.profile.email || ""));
