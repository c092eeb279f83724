// The emoji picker of the agent console's composer: a button beside the text box opens a
// grid of common emoji; a click or Enter inserts one at the caret (replacing a selection)
// and the text box keeps the focus. The grid is a toolbar of buttons with one tab stop:
// arrow keys move (left and right follow the page's direction, so they move the way the grid
// is drawn in Persian too), Home/End go to the ends, Escape closes and gives the focus back.
// Built on first use: it costs nothing until an agent asks for it.
"use strict";

window.AgentEmoji = (() => {
  const { t, dir } = window.I18n;
  const EMOJI = [
    "😀", "😊", "🙂", "😉", "😍", "🤗", "🤔", "😅",
    "😂", "🙏", "👍", "👎", "👌", "👋", "👏", "💪",
    "🙌", "🎉", "✨", "🔥", "❤️", "💙", "✅", "❌",
    "⭐", "📦", "🚚", "💳", "📞", "📧", "🕒", "📎",
    "😢", "😔", "😮", "😎", "🌹", "☕", "🎁", "🌟",
  ];

  function attach(composer, button) {
    let grid = null;
    let at = 0;

    function insert(text) {
      const start = composer.selectionStart ?? composer.value.length;
      const end = composer.selectionEnd ?? start;
      composer.focus();
      composer.setRangeText(text, start, end, "end");
      // What typing does: the draft is kept, the length checked, the canned picker updated.
      composer.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function focusAt(i) {
      const items = grid.querySelectorAll("button");
      at = Math.max(0, Math.min(items.length - 1, i));
      items.forEach((b, n) => { b.tabIndex = n === at ? 0 : -1; });
      items[at].focus();
    }

    function build() {
      grid = document.createElement("div");
      grid.className = "emoji-grid";
      grid.dataset.testid = "emoji-grid";
      grid.setAttribute("role", "toolbar");
      grid.setAttribute("aria-label", t("tools.emoji_panel"));
      grid.hidden = true;
      EMOJI.forEach((e, i) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "emoji";
        b.textContent = e;
        b.tabIndex = i === 0 ? 0 : -1;
        b.addEventListener("click", () => { insert(e); close(false); });
        grid.append(b);
      });
      grid.addEventListener("keydown", (event) => {
        const rtl = dir === "rtl";
        // As many columns as the style sheet draws (fewer on a phone).
        const COLUMNS = getComputedStyle(grid).gridTemplateColumns.split(" ").length;
        const step = {
          ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS,
        }[event.key];
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
      button.after(grid);
    }

    function open() {
      if (!grid) build();
      grid.hidden = false;
      button.setAttribute("aria-expanded", "true");
      focusAt(at);
    }

    function close(refocus) {
      if (!grid || grid.hidden) return;
      grid.hidden = true;
      button.setAttribute("aria-expanded", "false");
      if (refocus) button.focus();
    }

    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-label", t("tools.emoji_panel"));
    button.title = t("tools.emoji");
    button.addEventListener("click", () => (grid && !grid.hidden ? close(true) : open()));
    return { open, close, insert };
  }

  document.addEventListener("DOMContentLoaded", () => {
    const composer = document.getElementById("composer");
    const button = document.querySelector("[data-testid=emoji-button]");
    if (composer && button) attach(composer, button);
  });
  return { attach, EMOJI };
})();
