// Files in the agent console: the attach button, drag and drop and pasting a screenshot into
// the composer, the upload with its progress (retried after a network cut, then sent as an
// ordinary message from the outbox), and how a file in a message is shown: images as
// thumbnails that open in a viewer, other files as a named link with type and size. Download
// URLs are signed and short-lived (docs/protocol.md, "Files"): an expired one is renewed
// before it is used. User text only ever reaches the page as text nodes.
"use strict";

window.AgentFiles = (() => {
  const { el, newClientId, setDelivery, placeInOrder } = window.ChatCommon;
  const { t, num } = window.I18n;
  const KINDS = {
    "application/pdf": "console.kind_pdf", "text/plain": "console.kind_text", "image/png": "console.kind_png",
    "image/jpeg": "console.kind_jpeg", "image/gif": "console.kind_gif", "image/webp": "console.kind_webp",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "console.kind_word",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "console.kind_excel",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "console.kind_powerpoint",
    "application/vnd.oasis.opendocument.text": "console.kind_odt",
    "application/vnd.oasis.opendocument.spreadsheet": "console.kind_ods",
  };

  function sizeText(bytes) {
    const n = Number(bytes) || 0;
    if (n < 1024) return t("console.size_b", { n });
    const digits = (x) => num(x, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
    if (n < 1024 * 1024) return t("console.size_kb", { size: n < 10240 ? digits(n / 1024) : num(Math.round(n / 1024)) });
    return t("console.size_mb", { size: digits(n / 1024 / 1024) });
  }
  const kindOf = (file) => (KINDS[file.type] ? t(KINDS[file.type]) : file.type || t("console.kind_file"));
  const fresh = (file) => typeof file.url === "string" && Number(file.expires) - Date.now() > 20000;

  // The file with URLs that work now: asks the server for fresh ones when they have expired
  // (a tab open for long, or a transcript restored after a reload).
  const renewing = new Map();
  function current(file) {
    if (fresh(file)) return Promise.resolve(file);
    if (!file.id) return Promise.reject(new Error("not uploaded yet"));
    if (!renewing.has(file.id)) {
      renewing.set(file.id, fetch(`/api/console/files/${encodeURIComponent(file.id)}`, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
        .then((body) => Object.assign(file, body.file))
        .finally(() => renewing.delete(file.id)));
    }
    return renewing.get(file.id);
  }

  // The paperclip (the attach button's; sized by the caller or, given `size`, here).
  function clipIcon(size) {
    const SVG = "http://www.w3.org/2000/svg";
    const clip = document.createElementNS(SVG, "svg");
    clip.setAttribute("viewBox", "0 0 24 24");
    clip.setAttribute("aria-hidden", "true");
    if (size) {
      for (const [k, v] of Object.entries({ width: size, height: size, fill: "none", stroke: "currentColor", "stroke-width": 2, "stroke-linecap": "round" })) {
        clip.setAttribute(k, String(v));
      }
    }
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M16.5 6.5l-7.8 7.8a2 2 0 0 0 2.8 2.8l8-8a4 4 0 0 0-5.6-5.6l-8.2 8.2a6 6 0 0 0 8.5 8.5l6.3-6.3");
    clip.append(path);
    return clip;
  }

  let viewer = null;
  function openViewer(file) {
    if (!viewer) {
      viewer = el("dialog", { className: "file-viewer", testid: "file-viewer" });
      viewer.addEventListener("click", (event) => { if (event.target === viewer) viewer.close(); });
      document.body.append(viewer);
    }
    const img = el("img", { alt: file.name || t("console.image"), testid: "file-viewer-image" });
    const download = el("a", { className: "button small", testid: "file-viewer-download", href: "#" }, t("console.download"));
    const close = el("button", { type: "button", className: "button small subtle", testid: "file-viewer-close" }, t("common.close"));
    close.addEventListener("click", () => viewer.close());
    viewer.replaceChildren(img, el("div", { className: "file-viewer-bar" },
      window.ConsoleKit.user(el("bdi", { dir: "auto", className: "file-name" }, file.name || "")),
      el("span", { className: "file-meta" }, ` ${kindOf(file)} · ${sizeText(file.size)}`), download, close));
    if (file.localUrl && !file.id) img.src = file.localUrl;
    current(file).then((f) => { img.src = f.url; download.href = f.url; download.download = f.name; }, () => {});
    viewer.showModal();
  }

  // What a message shows of its file.
  function view(file) {
    const name = window.ConsoleKit.user(el("bdi", { dir: "auto", className: "file-name", testid: "file-name" }, file.name || t("console.kind_file")));
    if (String(file.type).startsWith("image/") && (file.thumb || file.localUrl)) {
      const img = el("img", { className: "file-thumb", alt: file.name || t("console.image"), testid: "file-thumb" });
      if (file.width && file.height) {
        const scale = Math.min(1, 240 / Math.max(file.width, file.height));
        img.width = Math.round(file.width * scale);
        img.height = Math.round(file.height * scale);
      }
      let renewed = false;
      let tries = 0; // a file still on its way has no URL yet: ask again a little later
      const load = () => current(file).then((f) => { img.src = f.thumb; }, () => { if (++tries < 10) setTimeout(load, 3000); });
      img.addEventListener("error", () => { if (!renewed && file.id) { renewed = true; file.expires = 0; load(); } });
      if (file.localUrl && !file.id) img.src = file.localUrl;
      else if (fresh(file) && typeof file.thumb === "string") img.src = file.thumb;
      else load();
      const open = el("button", { type: "button", className: "file-image", testid: "file-image", title: file.name || "" }, img);
      open.addEventListener("click", () => openViewer(file));
      return el("div", { className: "file", testid: "file" }, open);
    }
    const link = el("a", { className: "file-link", testid: "file-link", href: fresh(file) ? file.url : "#" }, name,
      el("span", { className: "file-meta", testid: "file-meta" }, `${kindOf(file)} · ${sizeText(file.size)}`));
    link.download = file.name || "";
    link.addEventListener("click", (event) => {
      if (fresh(file)) { link.href = file.url; return; } // the browser downloads it
      event.preventDefault();
      current(file).then((f) => { link.href = f.url; link.click(); }, () => {});
    });
    return el("div", { className: "file", testid: "file" }, link);
  }

  // `app`: agent.js's ui, state (its outbox), CLOSED, say, buildMessage, and transmit (sends
  // an outbox item as its frame once the file is uploaded).
  function create(app) {
    const { ui, state, CLOSED, say, buildMessage, transmit } = app;
    const input = el("input", { type: "file", multiple: true, hidden: true, testid: "attach-input" });
    const clip = clipIcon();
    const button = el("button", {
      type: "button", className: "button attach", testid: "attach", title: t("console.attach_title"),
    }, clip);
    button.setAttribute("aria-label", t("console.attach"));
    ui.send.before(button, input);
    button.addEventListener("click", () => input.click());
    input.addEventListener("change", () => { attach([...input.files]); input.value = ""; });

    const csrf = () => (document.querySelector('input[name="csrf_token"]') || {}).value || "";
    const itemLi = (item) => state.convs.get(item.conversation_id)?.byClientId.get(item.client_id);

    function attach(files) {
      const conv = state.convs.get(state.selected);
      if (!files.length) return;
      if (!conv || CLOSED.has(conv.status) || conv.watching || state.mode !== "reply") {
        say(t("console.files_only_in_reply"), true);
        return;
      }
      (async () => { for (const blob of files) await queueFile(conv, blob); })();
    }

    // A data: URL, which the console's Content-Security-Policy allows for images (blob: not).
    const dataUrl = (blob) => new Promise((resolve) => {
      const reader = new FileReader();
      reader.addEventListener("load", () => resolve(String(reader.result)));
      reader.addEventListener("error", () => resolve(""));
      reader.readAsDataURL(blob);
    });

    async function queueFile(conv, blob) {
      const image = /^image\//.test(blob.type);
      const name = blob.name || `screenshot-${new Date().toISOString().slice(0, 19).replace(/\D/g, "")}.png`;
      const localUrl = image && blob.size <= 10 * 1024 * 1024 ? await dataUrl(blob) : "";
      const local = { id: "", name, type: blob.type, size: blob.size, thumb: Boolean(localUrl), localUrl };
      const item = {
        client_id: newClientId(), conversation_id: conv.id, text: "", kind: "reply", ts: Date.now(),
        upload: { blob, name }, fileMeta: null,
      };
      const li = buildMessage({ from: "agent", text: "", ts: item.ts, file: local }, conv);
      setDelivery(li, t("console.uploading"));
      conv.byClientId.set(item.client_id, li);
      placeInOrder(conv.list, li);
      state.outbox.set(item.client_id, item);
      upload(item);
    }

    // The bytes first; the message naming the file goes from the outbox once they are stored.
    // A canned response's file is not sent from here: the server copies it into a fresh
    // upload of ours (item.upload.canned names the shortcut).
    function upload(item) {
      if (item.xhr || !item.upload) return;
      const xhr = new XMLHttpRequest();
      item.xhr = xhr;
      const conv = encodeURIComponent(item.conversation_id);
      const { canned } = item.upload;
      xhr.open("POST", canned ? `/api/console/conversations/${conv}/canned/${encodeURIComponent(canned)}/file`
        : `/api/console/conversations/${conv}/files?name=${encodeURIComponent(item.upload.name)}`);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.upload.addEventListener("progress", (event) => {
        const li = itemLi(item);
        if (li && event.lengthComputable) setDelivery(li, t("console.uploading_percent", { percent: Math.round((100 * event.loaded) / event.total) }));
      });
      xhr.addEventListener("load", () => {
        item.xhr = null;
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: a proxy's page */ }
        const li = itemLi(item);
        if (xhr.status === 201 && body && body.file) {
          item.file = body.file.id;
          item.fileMeta = body.file;
          if (item.localFile) Object.assign(item.localFile, body.file); // its link works once sent
          delete item.upload;
          if (li) setDelivery(li, t("console.sending"));
          transmit(item);
        } else if (xhr.status === 429 || xhr.status >= 500) {
          item.retryAt = Date.now() + (Number(body && body.retry_after) || 3) * 1000;
          if (li) setDelivery(li, t("console.upload_retrying"));
        } else {
          state.outbox.delete(item.client_id);
          if (li) setDelivery(li, t("console.not_sent", { reason: window.I18n.locale === "en" && body && body.message ? body.message : window.ConsoleKit.errorText({ code: (body && body.error) || "", message: (body && body.message) || `error ${xhr.status}` }) }), true);
        }
      });
      const retry = () => {
        item.xhr = null;
        item.retryAt = Date.now() + 2000;
        const li = itemLi(item);
        if (li) setDelivery(li, t("console.waiting_network"));
      };
      xhr.addEventListener("error", retry);
      xhr.addEventListener("timeout", retry);
      xhr.send(canned ? null : item.upload.blob);
    }
    ui.form.addEventListener("outbox-upload", (event) => upload(event.detail));

    // After a network cut: uploads that failed start again once the socket is back.
    setInterval(() => {
      for (const item of state.outbox.values()) {
        if (item.upload && !item.xhr && state.ready && Date.now() >= (item.retryAt || 0)) upload(item);
      }
    }, 1000);

    const column = ui.form.closest(".thread-column") || ui.form;
    column.addEventListener("dragover", (event) => {
      if (![...(event.dataTransfer?.types || [])].includes("Files")) return;
      event.preventDefault();
      column.classList.add("drop-target");
    });
    column.addEventListener("dragleave", (event) => { if (event.target === column) column.classList.remove("drop-target"); });
    column.addEventListener("drop", (event) => {
      column.classList.remove("drop-target");
      if (!event.dataTransfer?.files?.length) return;
      event.preventDefault();
      attach([...event.dataTransfer.files]);
    });
    ui.composer.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])];
      if (!files.length) return;
      event.preventDefault();
      attach(files);
    });

    return { attach };
  }

  return { create, view, current, sizeText, kindOf, clipIcon };
})();
