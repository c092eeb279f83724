// Files in the widget: the attach button, pasting a screenshot and dropping a file on the
// panel, the upload with its progress (POST /api/widget/files, docs/protocol.md "Files"),
// then the message that names the file, kept in an outbox of its own until it is
// acknowledged (resent with the same client_id after a network cut or a reload); and how a
// file in a message is shown: images as thumbnails that open in a viewer, other files as a
// named link with type and size. Loaded lazily (lazy.js, when the panel first opens), so it
// weighs nothing before that; its strings come with it (the server writes the file_* strings
// of widget/i18n.json over the empty object as it loads this file). An ES module: it runs once.
const P = window.ChatPanel;
const { el, setDelivery, newClientId } = window.ChatCommon;
const ALL = /*FILES_STRINGS*/{};
const S = ALL[P.LOCALE] || ALL.en || {};
const t = (key, vars = {}) => (S[key] || key).replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? "");
const { ui, state, store } = P;
const OUTBOX = `cs:files:${P.SITE}`;
const ACK_TIMEOUT_MS = 10000;
const MAX_SENDS = 6;

const style = el("link", { rel: "stylesheet", href: new URL("./files.css", import.meta.url).href });
document.head.append(style);

const token = () => store.get(P.KEYS.token) || "";
const sizeText = (n) => {
  const kb = (Number(n) || 0) / 1024;
  return kb < 1024 ? `${P.numbers.format(Math.max(1, Math.round(kb)))} KB` : `${P.numbers.format(Math.round(kb / 102.4) / 10)} MB`;
};
const KINDS = { "application/pdf": "PDF", "text/plain": "TXT" };
const kindOf = (file) => KINDS[file.type] || String(file.name || "").split(".").pop().toUpperCase() || "";
// What is kept of a file in storage: not the preview's data: URL (it can be megabytes).
const kept = ({ local, ...file }) => file;
const fresh = (file) => typeof file.url === "string" && Number(file.expires) - Date.now() > 20000;

// The file with URLs that work now: fresh ones from the server once they have expired.
const renewing = new Map();
function current(file) {
  if (fresh(file)) return Promise.resolve(file);
  if (!file.id) return Promise.reject(new Error("not uploaded"));
  if (!renewing.has(file.id)) {
    const url = `/api/widget/files/${encodeURIComponent(file.id)}?site=${encodeURIComponent(P.SITE)}`;
    renewing.set(file.id, fetch(url, { headers: { Authorization: `Bearer ${token()}` } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
      .then((body) => Object.assign(file, body.file))
      .finally(() => renewing.delete(file.id)));
  }
  return renewing.get(file.id);
}

// --- the viewer: an overlay over the panel --------------------------------------------------
const viewerImg = el("img", { alt: "", testid: "file-viewer-image" });
const viewerName = el("bdi", { dir: "auto" });
const viewerDownload = el("a", { className: "file-action", testid: "file-viewer-download", href: "#" }, t("file_download"));
const viewerClose = el("button", { type: "button", className: "file-action", testid: "file-viewer-close" }, t("file_close"));
const viewer = el("div", { className: "file-viewer", testid: "file-viewer", hidden: true, role: "dialog" },
  viewerImg, el("div", { className: "file-viewer-bar" }, viewerName, viewerDownload, viewerClose));
viewer.setAttribute("aria-modal", "true");
ui.panel.append(viewer);
const closeViewer = () => { viewer.hidden = true; };
viewerClose.addEventListener("click", closeViewer);
viewer.addEventListener("click", (event) => { if (event.target === viewer) closeViewer(); });
viewer.addEventListener("keydown", (event) => { if (event.key === "Escape") { event.stopPropagation(); closeViewer(); } });

function openViewer(file) {
  viewerName.textContent = file.name || "";
  viewerImg.alt = file.name || "";
  viewerImg.src = file.local || "";
  viewer.hidden = false;
  viewerClose.focus();
  current(file).then((f) => { viewerImg.src = f.url; viewerDownload.href = f.url; viewerDownload.download = f.name; }, () => {});
}

// --- how a message shows its file -----------------------------------------------------------
function view(file) {
  const name = el("bdi", { dir: "auto", className: "file-name", testid: "file-name" }, file.name || "");
  if (/^image\//.test(file.type) && (file.thumb || file.local)) {
    const img = el("img", { alt: file.name || "", testid: "file-thumb" });
    if (file.width && file.height) {
      const scale = Math.min(1, 200 / Math.max(file.width, file.height));
      img.width = Math.round(file.width * scale);
      img.height = Math.round(file.height * scale);
    }
    let renewed = false;
    let tries = 0; // a file still on its way has no URL yet: ask again a little later
    const load = () => current(file).then((f) => { img.src = f.thumb; }, () => { if (++tries < 10) setTimeout(load, 3000); });
    img.addEventListener("error", () => { if (!renewed && file.id) { renewed = true; file.expires = 0; load(); } });
    if (file.local && !file.id) img.src = file.local;
    else if (fresh(file) && typeof file.thumb === "string") img.src = file.thumb;
    else load();
    const open = el("button", { type: "button", className: "file file-image", testid: "file-image", title: t("file_open") }, img);
    open.setAttribute("aria-label", `${t("file_open")}: ${file.name || ""}`);
    open.addEventListener("click", () => openViewer(file));
    return open;
  }
  const link = el("a", { className: "file file-link", testid: "file-link", href: fresh(file) ? file.url : "#" },
    name, el("span", { className: "file-meta", testid: "file-meta" }, `${kindOf(file)} · ${sizeText(file.size)}`));
  link.download = file.name || "";
  link.addEventListener("click", (event) => {
    if (fresh(file)) { link.href = file.url; return; }
    event.preventDefault();
    current(file).then((f) => { link.href = f.url; link.click(); }, () => {});
  });
  return link;
}

// Every message on the list that carries a file shows it, under its text.
const pending = new WeakMap(); // li -> the file being sent from it
function decorate() {
  for (const li of ui.list.querySelectorAll(":scope > .msg")) {
    const entry = li.dataset.id && state.history.get(li.dataset.id);
    const file = (entry && entry.file) || pending.get(li);
    if (!file) continue;
    if (entry && !entry.file) entry.file = kept(file); // our own: the ack carries no file
    if (li.querySelector(":scope > .file")) continue;
    const bubble = li.querySelector(".bubble");
    if (bubble) bubble.after(view(file));
  }
}
new MutationObserver(decorate).observe(ui.list, { childList: true });
decorate();

// --- sending ---------------------------------------------------------------------------------
// Items: {client_id, text, ts, file (its id, once uploaded), meta, sends}; uploads in progress
// hold the bytes in memory only (a reload during an upload loses that upload, not a message).
let outbox = [];
try { outbox = JSON.parse(store.get(OUTBOX) || "[]"); } catch { outbox = []; }
const save = () => store.set(OUTBOX, JSON.stringify(outbox.filter((item) => item.file)
  .map(({ client_id, text, ts, file, meta, sends }) => ({ client_id, text, ts, file, meta: kept(meta), sends }))));
const liOf = (item) => state.byClientId.get(item.client_id);

function showItem(item) {
  if (liOf(item)) return;
  P.showPending({ client_id: item.client_id, text: item.text, ts: item.ts });
  const li = liOf(item);
  if (li) pending.set(li, item.meta);
  decorate();
}

function transmit(item) {
  if (!state.ready) return P.ensureConnected(); // the retry loop sends it once connected
  item.sentAt = Date.now();
  item.sends = (item.sends || 0) + 1;
  P.send({ type: "message", client_id: item.client_id, file: item.file });
}

function failed(item, reason) {
  outbox = outbox.filter((i) => i !== item);
  save();
  const li = liOf(item);
  if (li) setDelivery(li, t("file_refused", { reason }), true);
}

const REFUSALS = { 413: "file_too_large", 415: "file_type_refused", 429: "file_rate_limited" };
function upload(item) {
  if (item.xhr || item.file) return;
  if (!token()) { P.ensureConnected(); item.retryAt = Date.now() + 500; return; } // a welcome gives one
  const xhr = new XMLHttpRequest();
  item.xhr = xhr;
  const query = `site=${encodeURIComponent(P.SITE)}&name=${encodeURIComponent(item.meta.name)}`;
  xhr.open("POST", `/api/widget/files?${query}`);
  xhr.setRequestHeader("Authorization", `Bearer ${token()}`);
  xhr.upload.addEventListener("progress", (event) => {
    const li = liOf(item);
    if (li && event.lengthComputable) {
      setDelivery(li, t("file_uploading", { percent: P.numbers.format(Math.round((100 * event.loaded) / event.total)) }));
    }
  });
  xhr.addEventListener("load", () => {
    item.xhr = null;
    let body = {};
    try { body = JSON.parse(xhr.responseText) || {}; } catch { /* a proxy's page */ }
    if (xhr.status === 201 && body.file) {
      item.file = body.file.id;
      Object.assign(item.meta, body.file);
      delete item.blob;
      save();
      const li = liOf(item);
      if (li) setDelivery(li, t("sending"));
      transmit(item);
    } else if (xhr.status >= 500 || xhr.status === 401) {
      item.retryAt = Date.now() + 3000; // a server restarting, or a token to renew: again
    } else {
      failed(item, REFUSALS[xhr.status] ? t(REFUSALS[xhr.status]) : body.message || String(xhr.status));
    }
  });
  const later = () => {
    item.xhr = null;
    item.retryAt = Date.now() + 2000;
    const li = liOf(item);
    if (li) setDelivery(li, t("file_waiting"));
  };
  xhr.addEventListener("error", later);
  xhr.addEventListener("timeout", later);
  xhr.send(item.blob);
}

const dataUrl = (blob) => new Promise((resolve) => {
  const reader = new FileReader();
  reader.addEventListener("load", () => resolve(String(reader.result)));
  reader.addEventListener("error", () => resolve(""));
  reader.readAsDataURL(blob);
});

async function attach(files) {
  for (const blob of files) {
    const image = /^image\//.test(blob.type) && blob.size <= 10 * 1024 * 1024;
    const name = blob.name || `screenshot-${new Date().toISOString().slice(0, 19).replace(/\D/g, "")}.png`;
    // A data: URL: the panel's Content-Security-Policy allows those for images, not blob:.
    const local = image ? await dataUrl(blob) : "";
    const meta = { id: "", name, type: blob.type, size: blob.size, thumb: Boolean(local), local };
    const item = { client_id: newClientId(), text: "", ts: Date.now(), meta, blob };
    outbox.push(item);
    showItem(item);
    const li = liOf(item);
    if (li) setDelivery(li, t("file_uploading", { percent: P.numbers.format(0) }));
    P.ensureConnected();
    upload(item);
  }
}

// Acknowledged items leave the outbox; the others are uploaded or sent again (same client_id:
// the server stores a message once) when the socket is back.
setInterval(() => {
  let changed = false;
  for (const item of [...outbox]) {
    const li = liOf(item);
    if (li && li.dataset.id) {
      const entry = state.history.get(li.dataset.id);
      if (entry && !entry.file) entry.file = kept(item.meta);
      outbox = outbox.filter((i) => i !== item);
      changed = true;
    } else if (!item.file) {
      if (!item.xhr && state.ready !== false && Date.now() >= (item.retryAt || 0)) upload(item);
    } else if (state.ready && Date.now() - (item.sentAt || 0) > ACK_TIMEOUT_MS) {
      if ((item.sends || 0) >= MAX_SENDS) failed(item, t("file_waiting"));
      else transmit(item);
    }
  }
  if (changed) save();
}, 1000);
for (const item of outbox) showItem(item); // after a reload: what was not acknowledged yet

// --- the controls ---------------------------------------------------------------------------
const input = el("input", { type: "file", multiple: true, hidden: true, testid: "attach-input" });
const clip = document.createElementNS("http://www.w3.org/2000/svg", "svg");
clip.setAttribute("viewBox", "0 0 24 24");
clip.setAttribute("aria-hidden", "true");
const clipPath = document.createElementNS("http://www.w3.org/2000/svg", "path");
clipPath.setAttribute("d", "M16.5 6.5l-7.8 7.8a2 2 0 0 0 2.8 2.8l8-8a4 4 0 0 0-5.6-5.6l-8.2 8.2a6 6 0 0 0 8.5 8.5l6.3-6.3");
clip.append(clipPath);
const button = el("button", { type: "button", className: "attach", testid: "attach", title: t("file_attach") }, clip);
button.setAttribute("aria-label", t("file_attach"));
ui.composer.before(button, input);
button.addEventListener("click", () => input.click());
input.addEventListener("change", () => { attach([...input.files]); input.value = ""; });
ui.composer.addEventListener("paste", (event) => {
  const files = [...(event.clipboardData?.files || [])];
  if (!files.length) return;
  event.preventDefault();
  attach(files);
});
ui.panel.addEventListener("dragover", (event) => {
  if (![...(event.dataTransfer?.types || [])].includes("Files")) return;
  event.preventDefault();
  ui.panel.classList.add("drop-target");
});
ui.panel.addEventListener("dragleave", (event) => { if (event.target === ui.panel) ui.panel.classList.remove("drop-target"); });
ui.panel.addEventListener("drop", (event) => {
  ui.panel.classList.remove("drop-target");
  if (!event.dataTransfer?.files?.length) return;
  event.preventDefault();
  attach([...event.dataTransfer.files]);
});
