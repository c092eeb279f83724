// The help articles button of the agent console's composer: it opens a list of the site's
// published articles with a search (GET /api/console/articles); a click or Enter on one
// inserts "<title> <address of its public help page>" at the caret, for the visitor to open.
// Built on first use: it costs nothing until an agent asks for it.
"use strict";

window.AgentArticles = (() => {
  const { t } = window.I18n;
  const WAIT_MS = 250;

  function attach(composer, button) {
    let box = null, search = null, list = null, timer = null, asked = null;

    function insert(text) {
      const start = composer.selectionStart ?? composer.value.length;
      const end = composer.selectionEnd ?? start;
      const before = composer.value.slice(0, start);
      composer.focus();
      composer.setRangeText((before && !/\s$/.test(before) ? " " : "") + text, start, end, "end");
      // What typing does: the draft is kept, the length checked, the canned picker updated.
      composer.dispatchEvent(new Event("input", { bubbles: true }));
    }

    async function load() {
      const q = search.value.trim().slice(0, 200);
      asked = q;
      let items = [];
      try {
        const res = await fetch(`/api/console/articles?${new URLSearchParams({ q })}`, { credentials: "same-origin" });
        if (res.ok) items = (await res.json()).items || [];
      } catch { }
      if (asked !== q) return;
      list.replaceChildren(...items.map((a) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "article-pick";
        b.dataset.testid = "article-pick";
        b.dir = "auto";
        b.textContent = a.title;
        b.title = a.url;
        b.addEventListener("click", () => { insert(`${a.title} ${a.url}`); close(false); });
        const li = document.createElement("li");
        li.append(b);
        return li;
      }));
      if (!items.length) {
        const li = document.createElement("li");
        li.className = "muted";
        li.textContent = t("tools.articles_none");
        list.append(li);
      }
    }

    function build() {
      box = document.createElement("div");
      box.className = "articles-box";
      box.dataset.testid = "articles-box";
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-label", t("tools.articles"));
      box.hidden = true;
      search = document.createElement("input");
      search.type = "search";
      search.dir = "auto";
      search.dataset.testid = "articles-search";
      search.setAttribute("aria-label", t("tools.articles_search"));
      search.placeholder = t("tools.articles_search");
      list = document.createElement("ul");
      list.className = "articles-list";
      box.append(search, list);
      search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, WAIT_MS); });
      box.addEventListener("keydown", (event) => {
        if (event.key !== "Escape") return;
        event.preventDefault();
        event.stopPropagation();
        close(true);
      });
      box.addEventListener("focusout", (event) => {
        if (!box.contains(event.relatedTarget) && event.relatedTarget !== button) close(false);
      });
      button.after(box);
    }

    function open() {
      if (!box) build();
      box.hidden = false;
      button.setAttribute("aria-expanded", "true");
      search.focus();
      load();
    }

    function close(refocus) {
      if (!box || box.hidden) return;
      box.hidden = true;
      button.setAttribute("aria-expanded", "false");
      if (refocus) button.focus();
    }

    button.setAttribute("aria-expanded", "false");
    button.textContent = t("tools.articles");
    button.addEventListener("click", () => (box && !box.hidden ? close(true) : open()));
    return { open, close, insert };
  }

  document.addEventListener("DOMContentLoaded", () => {
    const composer = document.getElementById("composer");
    const button = document.querySelector("[data-testid=articles-button]");
    if (composer && button) attach(composer, button);
  });
  return { attach };
})();
