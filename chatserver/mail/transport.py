"""Handing a queued mail to the SMTP server (aiosmtplib), and what its answer means for the
queue: sent, worth another try later (the server is down or says "try again", a 4xx), or
refused for good (a 5xx: a bad address, a policy refusal)."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from chatserver.config import Settings

SENT, RETRY, FAILED = "sent", "retry", "failed"
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


def build_message(record: Mapping[str, str], sender: str) -> EmailMessage:
    """The MIME message of a queued mail: plain text, and HTML as its alternative."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = record.get("to", "")
    msg["Subject"] = record.get("subject", "")
    msg["Message-ID"] = record.get("message_id", "")
    msg["Date"] = formatdate(int(record.get("created_at", "0") or 0) / 1000, usegmt=True)
    # Nobody's autoresponder should answer an alert or a transcript with another mail.
    msg["Auto-Submitted"] = "auto-generated"
    if record.get("reply_to"):
        msg["Reply-To"] = record["reply_to"]
    msg.set_content(record.get("text", ""), charset="utf-8")
    if record.get("html"):
        msg.add_alternative(record["html"], subtype="html", charset="utf-8")
    if record.get("lang"):  # after the content: set_content drops Content-* headers
        msg["Content-Language"] = record["lang"]
    return msg


async def send_smtp(settings: Settings, msg: EmailMessage) -> tuple[str, str]:
    """(SENT|RETRY|FAILED, error text) for one try."""
    mode = settings.smtp_tls
    try:
        await aiosmtplib.send(
            msg,
            hostname=settings.smtp_host,
            port=settings.smtp_port or DEFAULT_PORTS[mode],
            username=settings.smtp_user or None,
            password=settings.smtp_password or None,
            use_tls=mode == "tls",
            start_tls=mode == "starttls",
            timeout=settings.smtp_timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        error = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)[:500]
        return (FAILED if codes and all(c >= 500 for c in codes) else RETRY), error
    except aiosmtplib.SMTPResponseException as exc:
        return (FAILED if exc.code >= 500 else RETRY), f"{exc.code} {exc.message}"[:500]
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        return RETRY, f"{type(exc).__name__}: {exc}"[:500]
    return SENT, ""
