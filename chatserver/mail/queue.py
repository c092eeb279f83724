"""Putting a mail in a site's queue: its id, its Message-ID (kept for every re-send, so a
receiver can tell a repeat) and the record the sender reads back."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from chatserver.config import Settings
from chatserver.store import Store


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str = ""
    kind: str = ""  # what it is: alert.missed, transcript, reply, ... (the Outbox shows it)
    conv_id: str = ""
    reply_to: str = ""
    lang: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def message_id(mail_id: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{mail_id}@{domain}>"


async def queue_mail(
    store: Store,
    settings: Settings,
    site: str,
    mail: Mail,
    now: int,
    once: str = "",
    mark_waiting: bool = False,
    follow_up_ms: int = 0,
) -> tuple[str, str]:
    """Queue ``mail``; with ``once`` (a field name on the conversation) at most once per
    conversation. Returns the store's answer: ('ok'|'dup'|'gone', mail id)."""
    mail_id = "m_" + secrets.token_hex(12)
    fields = {
        "to": mail.to,
        "subject": mail.subject,
        "text": mail.text,
        "html": mail.html,
        "kind": mail.kind,
        "conv": mail.conv_id,
        "reply_to": mail.reply_to,
        "lang": mail.lang,
        "message_id": message_id(mail_id, settings.mail_from),
    }
    return await store.enqueue_mail(
        site,
        mail_id,
        fields,
        now,
        mail.conv_id,
        once=once,
        mark_waiting=mark_waiting,
        follow_up_ms=follow_up_ms,
    )
