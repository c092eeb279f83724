// What the agent does with the keyboard and the controls of the agent console: the composer
// (reply, private note, or a supervisor's whisper; the typing signal, sending with retries until the server
// acknowledges), the thread's buttons, the keyboard shortcuts, the status button and the
// notification settings. agent.js creates it once and owns the state it reads.
// User text only ever reaches the page as text nodes.
"use strict";

window.AgentInput = (() => {
  const { newClientId, setDelivery, placeInOrder } = window.ChatCommon;
  const kit = window.ConsoleKit;
  const { t } = window.I18n;
  const TYPING_EVERY_MS = 1000;
  const ACK_TIMEOUT_MS = 10000;
  const REPLY_HINT = "console.reply_hint";
  const NOTE_HINT = "console.note_hint";
  const WHISPER_HINT = "console.whisper_hint";
  // What each composer mode sends, and the send button's label ("watch": a supervisor who
  // only watches, no composer).
  const FRAME = { reply: "message", note: "note", whisper: "whisper" };
  const FROM = { reply: "agent", note: "note", whisper: "whisper" };
  const SEND_LABEL = { note: "console.add_note", whisper: "console.whisper" };

  // `app` is agent.js's side: its ui and state (state.outbox: client_id -> {client_id,
  // conversation_id, text, kind, ts, sentAt}), CLOSED, send, say, saveSoon, the canned picker
  // and transfer dialog, and select, ordered, removeConversation, buildMessage(msg, conv),
  // privateMode(conv) ("note", or "whisper" in a watched chat) and takeOver() (Alt+T there).
  function create(app) {
    const { ui, state, CLOSED, send, say, canned, transfer } = app;
    const selected = () => state.convs.get(state.selected);
    // The server takes up to MAX characters (code points, after trimming). No maxlength on
    // the text box, which would cut a long paste silently: a longer text stays as it was
    // pasted or typed, a line under it says how much is over, and it is not sent.
    const MAX = Number(ui.composer.getAttribute("maxlength")) || 4000;
    ui.composer.removeAttribute("maxlength");
    const limitNote = document.createElement("p");
    limitNote.className = "too-long";
    limitNote.dataset.testid = "too-long";
    limitNote.setAttribute("role", "alert");
    limitNote.hidden = true;
    ui.composer.closest(".composer-row").after(limitNote);

    function tooLong() {
      const over = [...ui.composer.value.trim()].length - MAX;
      limitNote.hidden = over <= 0;
      if (over > 0) limitNote.textContent = t("tools.too_long", { n: over, max: MAX });
      ui.composer.setAttribute("aria-invalid", String(over > 0));
      ui.send.disabled = over > 0;
      return over > 0;
    }

    function transmit(item) {
      // The next welcome flushes the outbox; a file's message waits for its upload.
      if (!state.ready || item.upload) return;
      item.sentAt = Date.now();
      const { conversation_id, client_id, text, kind, file } = item;
      const frame = { type: FRAME[kind] || "message", conversation_id, client_id, text };
      if (file) frame.file = file; // uploaded first (agent-files.js)
      send(frame);
    }

    // No ack means "not stored": retry with the same client_id, the server deduplicates.
    setInterval(() => {
      for (const item of state.outbox.values()) {
        if (state.ready && Date.now() - (item.sentAt || 0) > ACK_TIMEOUT_MS) transmit(item);
      }
    }, 2000);

    // The server refused a message or note: wait and retry, or mark it not sent.
    function unsent(frame) {
      const item = frame.ref && state.outbox.get(frame.ref);
      if (item && (frame.code === "rate_limited" || frame.code === "unavailable")) {
        // Not stored: the retry loop sends it again once the wait is over.
        item.sentAt = Date.now() - ACK_TIMEOUT_MS + (Number(frame.retry_after) || 2) * 1000;
      } else if (item) {
        state.outbox.delete(item.client_id);
        const li = state.convs.get(item.conversation_id)?.byClientId.get(item.client_id);
        if (li) setDelivery(li, t("console.not_sent", { reason: kit.errorText(frame) }), true);
      }
    }

    function submit() {
      const conv = selected();
      const text = ui.composer.value.trim();
      if (!conv || !text || CLOSED.has(conv.status) || tooLong()) return;
      const kind = state.mode;
      if (!FRAME[kind]) return;
      const item = { client_id: newClientId(), conversation_id: conv.id, text, kind, ts: Date.now() };
      // A canned response's file goes with a reply only: the server copies it into an upload
      // of ours for this chat first (agent-files.js), then the message names that upload.
      const picked = canned.takeFile();
      let file;
      if (picked && kind === "reply") {
        file = { id: "", name: picked.file.name, type: picked.file.type, size: picked.file.size, thumb: false };
        item.upload = { canned: picked.shortcut, name: picked.file.name };
        item.localFile = file;
      }
      state.outbox.set(item.client_id, item);
      const li = app.buildMessage({ from: FROM[kind], text, ts: item.ts, file }, conv);
      setDelivery(li, item.upload ? t("console.attaching") : t("console.sending"));
      conv.byClientId.set(item.client_id, li);
      placeInOrder(conv.list, li);
      ui.composer.value = conv.draft = "";
      stopTyping();
      if (item.upload) ui.form.dispatchEvent(new CustomEvent("outbox-upload", { detail: item }));
      else transmit(item);
    }

    function setMode(mode) {
      state.mode = mode;
      ui.form.classList.toggle("note-mode", mode === "note");
      ui.form.classList.toggle("whisper-mode", mode === "whisper");
      for (const button of ui.form.querySelectorAll(".mode")) {
        button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
      }
      ui.composer.placeholder = t({ note: NOTE_HINT, whisper: WHISPER_HINT }[mode] || REPLY_HINT);
      ui.send.textContent = t(SEND_LABEL[mode] || "console.send");
      // A visitor must not see "typing" while we write a note or a whisper.
      if (mode !== "reply") stopTyping();
    }

    // Agents send no preview (it only reaches agents), so a leading-edge throttle is enough;
    // repeating "true" while typing keeps the visitor's indicator from timing out.
    const typing = { lastSent: 0, conv: null };

    function onInput() {
      tooLong();
      canned.update();
      const conv = selected();
      if (state.mode !== "reply" || !ui.composer.value.trim() || !conv || CLOSED.has(conv.status)) return stopTyping();
      if (Date.now() - typing.lastSent < TYPING_EVERY_MS) return;
      typing.lastSent = Date.now();
      typing.conv = conv.id;
      send({ type: "typing", conversation_id: conv.id, state: true });
    }

    function stopTyping() {
      if (typing.conv) send({ type: "typing", conversation_id: typing.conv, state: false });
      typing.conv = null;
      typing.lastSent = 0;
    }

    function renderStatus(status) {
      ui.status.dataset.status = status;
      ui.status.textContent = t({ online: "console.status_online", away: "console.status_away" }[status] || "console.status_offline");
      ui.status.setAttribute("aria-pressed", String(status === "online"));
      ui.status.title = status === "online" ? t("console.click_away") : t("console.click_online");
    }

    // --- wiring ------------------------------------------------------------------------------
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
      ui.composer.focus();
    });
    ui.composer.addEventListener("keydown", (event) => {
      if (canned.keydown(event)) return;
      // isComposing: the Enter that confirms an IME candidate must not send.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    ui.composer.addEventListener("input", onInput);
    ui.composer.addEventListener("blur", stopTyping);
    // Another chat's draft is put in the box without an input event: check it when it is met.
    ui.composer.addEventListener("focus", tooLong);
    ui.modeReply.addEventListener("click", () => { setMode("reply"); ui.composer.focus(); });
    ui.modeNote.addEventListener("click", () => { setMode("note"); ui.composer.focus(); });
    // (the whisper button is agent-supervise.js's)
    ui.resolve.addEventListener("click", () => {
      const conv = selected();
      if (conv && CLOSED.has(conv.status)) app.removeConversation(conv);
      else if (conv) send({ type: "resolve", conversation_id: conv.id });
    });
    ui.reopen.addEventListener("click", () => {
      if (state.selected) send({ type: "reopen", conversation_id: state.selected });
    });
    ui.transfer.addEventListener("click", () => {
      const conv = selected();
      if (conv && conv.watching) app.takeOver();
      else if (conv && !CLOSED.has(conv.status)) transfer.open(conv);
    });
    ui.status.addEventListener("click", () => {
      if (!state.ready) return;
      state.wanted = ui.status.dataset.status === "online" ? "away" : "online";
      send({ type: "status", status: state.wanted });
      app.saveSoon();
    });

    // Alt+↓/↑: next or previous conversation; Alt+N: reply or note (whisper in a watched chat);
    // Alt+T: transfer (take over).
    document.addEventListener("keydown", (event) => {
      if (!event.altKey || event.ctrlKey || event.metaKey || transfer.isOpen()) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        const ids = app.ordered().map((c) => c.id);
        if (!ids.length) return;
        const at = ids.indexOf(state.selected);
        const step = event.key === "ArrowDown" ? 1 : -1;
        app.select(ids[(at + step + ids.length) % ids.length] ?? ids[0]);
        ui.composer.focus();
      } else if (event.code === "KeyN") {
        const priv = app.privateMode(selected());
        setMode(state.mode === priv ? "reply" : priv);
        app.refreshSelected();
        ui.composer.focus();
      } else if (event.code === "KeyT") {
        ui.transfer.click();
      } else {
        return;
      }
      event.preventDefault();
    });

    ui.sound.checked = kit.settings.sound;
    ui.desktop.checked = kit.settings.desktop;
    ui.sound.addEventListener("change", () => kit.setSetting("sound", ui.sound.checked));
    ui.desktop.addEventListener("change", async () => {
      const ok = ui.desktop.checked ? await kit.askDesktopPermission() : true;
      if (!ok) { ui.desktop.checked = false; say(t("console.notifications_denied"), true); }
      kit.setSetting("desktop", ui.desktop.checked);
    });

    return {
      setMode, onInput, stopTyping, renderStatus, unsent, transmit, tooLong,
      // After a welcome: send what is still waiting for its ack.
      flush() { for (const item of state.outbox.values()) transmit(item); },
      // The socket is gone: a typing "false" cannot be sent, and the server clears it anyway.
      connectionLost() { typing.conv = null; },
    };
  }

  return { create };
})();
