// The emoji picker of the widget's composer: a button beside the text box; the grid of
// emoji is built on its first click. Loaded lazily (lazy.js, when the panel first opens), so
// it weighs nothing before that; its strings come with it (the server writes the emoji_*
// strings of widget/i18n.json over the empty object as it loads this file). Keys: arrows
// move (left and right as the grid is drawn, mirrored in Persian), Home/End, Enter inserts
// at the caret, Escape closes and gives the focus back. An ES module: it runs once.
const P = window.ChatPanel;
const { el } = window.ChatCommon;
const ALL = /*EMOJI_STRINGS*/{};
const S = ALL[P.LOCALE] || ALL.en || {};
const t = (key) => S[key] || key;
const { ui } = P;
const EMOJI = ["😀", "😊", "🙂", "😉", "😍", "🤔", "😅", "😂", "🙏", "👍", "👎", "👌", "👋", "👏", "🎉", "❤️", "✅", "❌", "⭐", "📦", "🚚", "💳", "😢", "😮"];

const button = el("button", { type: "button", className: "emoji-open", testid: "emoji-button", title: t("emoji_button") }, "😊");
button.setAttribute("aria-label", t("emoji_panel"));
button.setAttribute("aria-haspopup", "true");
button.setAttribute("aria-expanded", "false");
ui.composer.after(button);
let grid = null;
let at = 0;

function focusAt(i) {
  const items = grid.querySelectorAll("button");
  at = Math.max(0, Math.min(items.length - 1, i));
  items.forEach((b, n) => { b.tabIndex = n === at ? 0 : -1; });
  items[at].focus();
}

function insert(text) {
  const field = ui.composer;
  const start = field.selectionStart ?? field.value.length;
  field.focus();
  field.setRangeText(text, start, field.selectionEnd ?? start, "end");
  field.dispatchEvent(new Event("input", { bubbles: true }));
}

function close(refocus) {
  if (!grid || grid.hidden) return;
  grid.hidden = true;
  button.setAttribute("aria-expanded", "false");
  if (refocus) button.focus();
}

function build() {
  grid = el("div", { className: "emoji-grid", testid: "emoji-grid", hidden: true });
  grid.setAttribute("role", "toolbar");
  grid.setAttribute("aria-label", t("emoji_panel"));
  EMOJI.forEach((e, i) => {
    const b = el("button", { type: "button", className: "emoji", tabIndex: i ? -1 : 0 }, e);
    b.addEventListener("click", () => { insert(e); close(false); });
    grid.append(b);
  });
  grid.addEventListener("keydown", (event) => {
    const rtl = getComputedStyle(grid).direction === "rtl";
    const cols = getComputedStyle(grid).gridTemplateColumns.split(" ").length;
    const step = { ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1, ArrowDown: cols, ArrowUp: -cols }[event.key];
    if (step) focusAt(at + step);
    else if (event.key === "Home") focusAt(0);
    else if (event.key === "End") focusAt(EMOJI.length - 1);
    else if (event.key === "Escape") close(true);
    else return;
    event.preventDefault();
    event.stopPropagation();
  });
  grid.addEventListener("focusout", (event) => {
    if (!grid.contains(event.relatedTarget) && event.relatedTarget !== button) close(false);
  });
  ui.composer.closest("form").append(grid);
}

button.addEventListener("click", () => {
  if (grid && !grid.hidden) return close(true);
  if (!grid) build();
  grid.hidden = false;
  button.setAttribute("aria-expanded", "true");
  focusAt(at);
});
