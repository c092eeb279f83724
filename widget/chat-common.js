// Helpers the visitor page and the agent console share; load before either page's script.
// User text only ever reaches the page as text nodes.
"use strict";

window.ChatCommon = (() => {
  // Ids are Redis stream ids "ms-seq": string order is wrong once the lengths differ.
  function compareIds(a, b) {
    const [am, as] = String(a).split("-").map(Number);
    const [bm, bs] = String(b).split("-").map(Number);
    return am - bm || (as || 0) - (bs || 0);
  }

  // randomUUID needs a secure context; a plain-http LAN install still needs unique ids.
  function newClientId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)),
      (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // `locale` defaults to the browser's; "fa" gives Persian digits.
  const timeOf = (ts, locale) => new Date(ts || Date.now())
    .toLocaleTimeString(locale || [], { hour: "2-digit", minute: "2-digit" });

  // Text with its web links as <a> elements: only http(s) URLs become links, and the text of
  // each part is a text node. Trailing punctuation (also Persian) is left out of a link.
  const URL_PATTERN = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;
  function linkify(value) {
    const text = String(value);
    const parts = [];
    let last = 0;
    for (const match of String(text).matchAll(URL_PATTERN)) {
      const shown = match[0].replace(/[.,;:!?')\]}»،؛؟]+$/u, "");
      let url;
      try { url = new URL(/^www\./i.test(shown) ? `https://${shown}` : shown); } catch { continue; }
      if (url.protocol !== "http:" && url.protocol !== "https:") continue;
      parts.push(text.slice(last, match.index),
        el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow ugc" }, shown));
      last = match.index + shown.length;
    }
    parts.push(text.slice(last));
    return parts.filter(Boolean);
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "testid") node.setAttribute("data-testid", value);
      else node[key] = value;
    }
    // Strings become text nodes, never markup.
    node.append(...children);
    return node;
  }

  function setDelivery(li, text, failed = false) {
    const delivery = li.querySelector(".delivery");
    if (delivery) delivery.textContent = text;
    li.classList.toggle("failed", failed);
  }

  // Keep the list in id order; unacknowledged messages (no id yet) stay at the end.
  function placeInOrder(list, li) {
    const id = li.dataset.id;
    let before = null;
    for (let node = list.lastElementChild; id && node; node = node.previousElementSibling) {
      if (node.dataset.id && compareIds(node.dataset.id, id) < 0) break;
      before = node;
    }
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.insertBefore(li, before);
    if (atBottom || !id) list.scrollTop = list.scrollHeight;
  }

  return { compareIds, newClientId, timeOf, el, setDelivery, placeInOrder, linkify };
})();
