// Web addresses in what visitors and agents wrote become links in the console and the
// dashboard: built as DOM nodes (text stays text, never markup), http and https only, opened
// in a new tab without telling the linked page where it came from. Loaded before the scripts
// that show messages.
"use strict";

window.Linkify = (() => {
  // http(s)://… or www.…, up to the first space; trailing punctuation is the sentence's.
  const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;
  const TRAILING = /[.,;:!?،؛)\]}'"»]+$/u;

  function link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    a.dir = "ltr"; // an address reads left to right inside a Persian sentence
    a.className = "text-link";
    return a;
  }

  // A fragment of text and links for `text`.
  function fragment(text) {
    const out = document.createDocumentFragment();
    let last = 0;
    for (const match of (text || "").matchAll(URL_RE)) {
      let url = match[0];
      const tail = url.match(TRAILING);
      if (tail) url = url.slice(0, -tail[0].length);
      const href = /^www\./i.test(url) ? `https://${url}` : url;
      let valid = false;
      try { valid = ["http:", "https:"].includes(new URL(href).protocol); } catch { valid = false; }
      if (!url || !valid) continue;
      out.append(text.slice(last, match.index), link(href, url));
      last = match.index + url.length;
    }
    out.append(text.slice(last));
    return out;
  }

  return { fragment };
})();
