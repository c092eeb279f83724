// Conversation search in the agent console (GET /api/console/search): a box in the sidebar,
// results titled by the visitor's name with the matching words marked, each opening its
// transcript the way the visitor's earlier conversations do. The server applies the agent's
// permission (their chats and departments; the whole site for supervisors). User text only
// ever reaches the page as text nodes: the snippet arrives as parts, every other one a match.
// A label (the site's, from agent-labels.js) narrows it; results show their labels' chips.
"use strict";

(() => {
  const { el } = window.ChatCommon;
  const { dateTime, user } = window.ConsoleKit;
  const { t, time: timeOf } = window.I18n;
  const form = document.querySelector("[data-testid=search-form]");
  if (!form) return;
  const input = form.querySelector("[data-testid=search-input]");
  const status = form.querySelector("[data-testid=search-status]");
  const results = document.querySelector("[data-testid=search-results]");
  const note = document.querySelector("[data-testid=search-note]");
  const more = document.querySelector("[data-testid=search-more]");
  const STATUS_LABELS = {
    queued: "console.state_queued", assigned: "console.state_assigned", waiting_on_agent: "console.state_waiting_on_agent",
    waiting_on_visitor: "console.state_waiting_on_visitor", resolved: "console.state_resolved", missed: "console.state_missed",
    abandoned: "console.state_abandoned", closed: "console.state_closed",
  };
  const statusLabel = (s) => (STATUS_LABELS[s] ? t(STATUS_LABELS[s]) : s || "");
  let cursor = null;
  let generation = 0;
  let timer = null;

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status}`);
    return response.json();
  }

  function query(after) {
    const params = new URLSearchParams();
    const text = input.value;
    if (text.trim()) params.set("q", text);
    for (const name of ["status", "label", "from", "to"]) {
      const field = form.elements[name];
      if (field && field.value) params.set(name, field.value);
    }
    if (after) params.set("cursor", after);
    return params;
  }

  async function run(append) {
    const params = query(append ? cursor : null);
    if (!append && ![...params.keys()].length) { clear(); return; }
    const mine = ++generation;
    note.hidden = false;
    note.textContent = t("search.searching");
    let body;
    try {
      body = await getJSON(`/api/console/search?${params}`);
      // A page bounds what the server looks at: one that found nothing yet goes on a few times.
      for (let i = 0; i < 5 && !body.items.length && body.next_cursor && mine === generation; i++) {
        params.set("cursor", body.next_cursor);
        body = await getJSON(`/api/console/search?${params}`);
      }
    } catch {
      if (mine === generation) note.textContent = t("search.failed");
      return;
    }
    if (mine !== generation) return;  // a newer query is under way
    if (!append) results.replaceChildren();
    results.append(...body.items.map(resultItem));
    cursor = body.next_cursor;
    more.hidden = !cursor;
    const n = results.children.length;
    note.textContent = n ? t("search.found", { n }) : t("search.none");
  }

  function clear() {
    generation++;
    results.replaceChildren();
    note.hidden = true;
    more.hidden = true;
    cursor = null;
  }

  function snippetNode(snip) {
    const line = user(el("span", { className: "search-snippet", dir: "auto" }));
    if (snip.cut_start) line.append("… ");
    snip.parts.forEach((part, i) => line.append(i % 2 ? el("mark", {}, part) : part));
    if (snip.cut_end) line.append(" …");
    return line;
  }

  function resultItem(item) {
    const name = item.visitor_name || t("search.unnamed");
    const summary = el("summary", {},
      user(el("bdi", { className: "search-title" }, name), Boolean(item.visitor_name)),
      el("span", { className: "history-meta" },
        ` · ${dateTime(item.created_at)} · ${statusLabel(item.status)}`,
        item.agent_name ? " · " : "", item.agent_name ? user(el("bdi", {}, item.agent_name)) : ""));
    if (item.labels && item.labels.length && window.AgentLabels) {
      summary.append(" ", el("span", { className: "label-chips" }, ...item.labels.map((l) => window.AgentLabels.chip(l))));
    }
    if (item.snippet) summary.append(el("br"), snippetNode(item.snippet));
    const body = el("ol", { className: "history-messages" });
    const box = el("details", { className: "history-item search-result", testid: "search-result" }, summary, body);
    box.dataset.conversation = item.id;
    box.addEventListener("toggle", async () => {
      if (!box.open || box.dataset.loaded) return;
      box.dataset.loaded = "1";
      try {
        const data = await getJSON(`/api/console/conversations/${encodeURIComponent(item.id)}/messages`);
        body.replaceChildren(...data.messages.filter((m) => m.from !== "system").map(line));
      } catch { body.replaceChildren(el("li", { className: "muted" }, t("search.transcript_failed"))); }
    });
    return el("li", {}, box);
  }

  function line(m) {
    const who = m.from === "visitor" ? t("console.visitor") : (m.author && m.author.name) || t("console.agent");
    const text = m.event === "erased" ? t("console.erased_short") : m.text || "";
    return el("li", { className: `history-line from-${m.from}`, testid: "search-line" },
      user(el("span", { className: "history-who" }, `${who} · ${timeOf(m.ts)}`)),
      user(el("span", { className: "history-text", dir: "auto" }, text)));
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); clearTimeout(timer); run(false); });
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => run(false), 300); });
  for (const name of ["status", "label", "from", "to"]) {
    if (form.elements[name]) form.elements[name].addEventListener("change", () => run(false));
  }
  // The label filter offers the site's labels (agent-labels.js loads them).
  const labelSelect = form.elements.label;
  if (labelSelect && window.AgentLabels) {
    window.AgentLabels.site.onChange((labels) => {
      const keep = labelSelect.value;
      labelSelect.replaceChildren(el("option", { value: "" }, t("search.any_label")),
        ...labels.map((l) => user(el("option", { value: l.id }, l.name))));
      labelSelect.value = labels.some((l) => l.id === keep) ? keep : "";
    });
  }
  more.addEventListener("click", () => run(true));
  if (status) status.value = "";
})();
