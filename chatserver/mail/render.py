"""Rendering mails from the jinja2 templates in chatserver/mail_templates: each mail has a
plain-text part (``<name>.txt``) and an HTML alternative (``<name>.html``, autoescaped, so
nothing a visitor or an agent wrote can become markup). Transcripts speak the visitor's
language: English or Persian (right to left), from the strings below."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from chatserver.messages import Stored

# What a visitor may read of a conversation: never notes, whispers or system lines.
PUBLIC_KINDS = frozenset({"visitor", "agent", "bot"})

_html = Environment(
    loader=PackageLoader("chatserver", "mail_templates"),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_text = Environment(
    loader=PackageLoader("chatserver", "mail_templates"),
    autoescape=False,  # plain text: nothing is markup there
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Your chat with {site}",
        "intro": "Here is the transcript of your chat with {site}, as you asked.",
        "you": "You",
        "team": "Support",
        "started": "Started",
        "footer": "You received this because an e-mail address was left in the chat.",
        "empty": "No messages.",
        "reply_subject": "New reply from {site}",
        "reply_intro": "{site} answered you in your chat:",
        "reply_hint": "Reply to this e-mail to answer: your reply goes to the same chat.",
        "reply_visit": "To answer, open the chat on the site again.",
        "ready_subject": "An agent from {site} is ready for you",
        "ready_intro": "You left the chat with {site}; we kept your place, and an agent is "
        "ready for you now.",
        "ready_link": "Back to the chat",
        "ready_visit": "Open the site again to continue the chat.",
        # The team's alerts (chatserver/mail/alerts.py), in the site's team language.
        "alert_offline": "A visitor left a message for the team",
        "alert_missed": "A chat was missed: the visitor left before anyone answered",
        "alert_abandoned": "A visitor left while waiting for an answer",
        "alert_site": "Site",
        "alert_visitor": "Visitor",
        "alert_no_name": "(no name)",
        "alert_a_visitor": "a visitor",
        "alert_waits_mail": "They left an e-mail address and wait for a reply by mail.",
        "alert_no_mail": "They left no e-mail address.",
        "alert_open": "Open the conversation in the console",
    },
    "fa": {
        "subject": "گفتگوی شما با {site}",
        "intro": "متن کامل گفتگوی شما با {site} که درخواست کرده بودید.",
        "you": "شما",
        "team": "پشتیبانی",
        "started": "آغاز",
        "footer": "این نامه را دریافت کرده‌اید چون نشانی ایمیلی در گفتگو ثبت شده بود.",
        "empty": "پیامی نیست.",
        "reply_subject": "پاسخ تازه از {site}",
        "reply_intro": "{site} در گفتگوی شما پاسخ داد:",
        "reply_hint": "برای پاسخ، به همین ایمیل جواب دهید: پاسخ شما به همان گفتگو می‌رسد.",
        "reply_visit": "برای پاسخ، گفتگو را دوباره در سایت باز کنید.",
        "ready_subject": "کارشناس {site} آماده‌ی گفتگو با شماست",
        "ready_intro": "شما گفتگو با {site} را ترک کردید؛ نوبت شما نگه داشته شد و اکنون "
        "کارشناسی آماده‌ی پاسخ به شماست.",
        "ready_link": "بازگشت به گفتگو",
        "ready_visit": "برای ادامه‌ی گفتگو، سایت را دوباره باز کنید.",
        "alert_offline": "بازدیدکننده‌ای برای تیم پیام گذاشت",
        "alert_missed": "گفتگویی از دست رفت: بازدیدکننده پیش از پاسخ کسی رفت",
        "alert_abandoned": "بازدیدکننده‌ای در انتظار پاسخ رفت",
        "alert_site": "سایت",
        "alert_visitor": "بازدیدکننده",
        "alert_no_name": "(بی‌نام)",
        "alert_a_visitor": "یک بازدیدکننده",
        "alert_waits_mail": "نشانی ایمیل گذاشته و منتظر پاسخ با ایمیل است.",
        "alert_no_mail": "نشانی ایمیلی نگذاشته است.",
        "alert_open": "باز کردن گفتگو در میز کار",
    },
}
LANGUAGES = tuple(STRINGS)  # what a site's team language (alerts.TEAM_LANGUAGE) may be
RTL = frozenset({"fa", "ar", "he", "ur"})


def language(*candidates: str) -> str:
    """The first of the candidates (conversation, visitor, site locale) we have strings for."""
    for raw in candidates:
        lang = (raw or "").replace("_", "-").split("-")[0].lower()
        if lang in STRINGS:
            return lang
    return "en"


@dataclass(frozen=True, slots=True)
class Line:
    who: str
    mine: bool  # written by the visitor
    text: str
    at: str


def lines(messages: Iterable[Stored], lang: str, visitor: str = "") -> list[Line]:
    """The public lines of a conversation; the visitor's are "You" unless ``visitor`` names
    them (the team's alerts)."""
    s = STRINGS[lang]
    out = []
    for m in messages:
        if m.kind not in PUBLIC_KINDS:
            continue
        mine = m.kind == "visitor"
        who = (visitor or s["you"]) if mine else (m.sender_name or s["team"])
        out.append(Line(who, mine, m.text, stamp(m.ts)))
    return out


def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC") if ms else ""


def render(name: str, context: Mapping[str, object]) -> tuple[str, str]:
    """(text, html) of template ``name``."""
    return (
        _text.get_template(f"{name}.txt").render(context),
        _html.get_template(f"{name}.html").render(context),
    )


ALERT_REASONS = ("offline", "missed", "abandoned")


def alert(
    site_name: str,
    reason: str,
    visitor: Mapping[str, str],
    link: str,
    messages: Iterable[Stored],
    lang: str,
) -> tuple[str, str, str]:
    """(subject, text, html) of the team's alert for ``reason`` (one of ALERT_REASONS), in
    ``lang``: the site's team language, not the visitor's."""
    s = STRINGS[lang]
    headline = s[f"alert_{reason}"]
    name, email = visitor.get("name", ""), visitor.get("email", "")
    ctx = {
        "s": s,
        "lang": lang,
        "dir": "rtl" if lang in RTL else "ltr",
        "headline": headline,
        "site": site_name,
        "visitor_name": name,
        "visitor_email": email,
        "link": link,
        "lines": lines(messages, lang, name or s["alert_visitor"]),
    }
    text, html = render("alert", ctx)
    return f"[{site_name}] {headline} ({name or email or s['alert_a_visitor']})", text, html


def transcript(site_name: str, messages: Iterable[Stored], lang: str) -> tuple[str, str, str]:
    """(subject, text, html) of a conversation's transcript for its visitor."""
    s = {k: v.format(site=site_name) for k, v in STRINGS[lang].items()}
    ctx = {
        "s": s,
        "lang": lang,
        "dir": "rtl" if lang in RTL else "ltr",
        "site": site_name,
        "lines": lines(messages, lang),
    }
    text, html = render("transcript", ctx)
    return s["subject"], text, html


def reply(
    site_name: str, messages: Iterable[Stored], lang: str, can_reply: bool
) -> tuple[str, str, str]:
    """(subject, text, html) of the mail that carries agents' replies to a visitor gone."""
    s = {k: v.format(site=site_name) for k, v in STRINGS[lang].items()}
    ctx = {
        "s": s,
        "lang": lang,
        "dir": "rtl" if lang in RTL else "ltr",
        "lines": lines(messages, lang),
        "hint": s["reply_hint"] if can_reply else s["reply_visit"],
    }
    text, html = render("reply", ctx)
    return s["reply_subject"], text, html


def agent_ready(site_name: str, page_url: str, lang: str) -> tuple[str, str, str]:
    """(subject, text, html) of the mail that tells a visitor whose place was kept that an
    agent took their chat, with a link back to the page they were on (http(s) only: the page
    reported it, and a mail must not carry a script link)."""
    s = {k: v.format(site=site_name) for k, v in STRINGS[lang].items()}
    link = page_url if page_url.lower().startswith(("https://", "http://")) else ""
    ctx = {"s": s, "lang": lang, "dir": "rtl" if lang in RTL else "ltr", "link": link}
    text, html = render("agent_ready", ctx)
    return s["ready_subject"], text, html
