// The dashboard's "Notice to visitors" card: the site's notice (GET /api/console/notice),
// posted or replaced with PUT and taken down with DELETE (docs/protocol.md, Notices). Every
// open widget of the site shows the change at once; the server checks everything again.
"use strict";

(() => {
  const { t, dateTime } = window.I18n;
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  const form = $("notice-form");
  if (!form) return;
  const current = $("notice-current");
  const error = $("notice-error");
  const endButton = $("notice-end");
  const at = form.querySelector("[data-notice-at]");
  const csrf = () => form.elements.csrf_token.value;
  const ERRORS = {
    notice_text_required: "dashboard.notice_err_text",
    notice_too_long: "dashboard.notice_err_long",
    invalid_expiry: "dashboard.notice_err_expiry",
  };

  function show(notice, said = "") {
    current.replaceChildren();
    endButton.hidden = !notice;
    if (!notice) {
      current.textContent = said || t("dashboard.notice_none");
      return;
    }
    if (said) current.append(said, " ");
    current.append(t("dashboard.notice_shown", { until: dateTime(notice.expires_at), by: notice.by }));
    for (const lang of ["en", "fa"]) {
      if (!notice.text[lang]) continue;
      const quote = document.createElement("blockquote");
      quote.lang = lang;
      quote.dir = lang === "fa" ? "rtl" : "ltr";
      quote.textContent = notice.text[lang];
      quote.setAttribute("data-user-content", "");
      quote.dataset.testid = `notice-current-${lang}`;
      current.append(quote);
    }
    form.elements.en.value = notice.text.en || "";
    form.elements.fa.value = notice.text.fa || "";
  }

  async function call(method, body) {
    const headers = { "X-CSRF-Token": csrf() };
    if (body) headers["Content-Type"] = "application/json";
    const resp = await fetch("/api/console/notice", {
      method, headers, credentials: "same-origin", body: body && JSON.stringify(body),
    });
    return { ok: resp.ok, body: await resp.json().catch(() => ({})) };
  }

  form.elements.expires.addEventListener("change", () => { at.hidden = form.elements.expires.value !== "at"; });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const text = { en: form.elements.en.value, fa: form.elements.fa.value };
    const choice = form.elements.expires.value;
    const body = { text };
    if (choice === "at") {
      const when = new Date(form.elements.at.value).getTime();
      if (!Number.isFinite(when)) {
        error.textContent = t("dashboard.notice_err_expiry");
        return form.elements.at.focus();
      }
      body.expires_at = when;
    } else {
      body.expires_in = Number(choice);
    }
    try {
      const { ok, body: answer } = await call("PUT", body);
      if (!ok) {
        error.textContent = t(ERRORS[answer.error] || "dashboard.notice_err_failed");
        return;
      }
      show(answer.notice, t("dashboard.notice_posted"));
    } catch {
      error.textContent = t("dashboard.notice_err_failed");
    }
  });

  endButton.addEventListener("click", async () => {
    error.textContent = "";
    try {
      const { ok } = await call("DELETE");
      if (!ok) throw new Error("refused");
      form.elements.en.value = form.elements.fa.value = "";
      show(null, t("dashboard.notice_ended"));
    } catch {
      error.textContent = t("dashboard.notice_err_failed");
    }
  });

  call("GET").then(({ ok, body }) => ok && show(body.notice)).catch(() => {});
})();
