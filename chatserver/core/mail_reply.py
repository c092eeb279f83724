"""Offline replies by e-mail, the pure parts: the signed per-conversation reply address, and
the visitor's own words in a reply (the quoted history and signature cut off).

The address is ``reply+<site>.<conversation>.<mac>@<inbound domain>``: ``mac`` is the first
20 hex digits (80 bits) of HMAC-SHA256 over ``reply:<site>:<conversation>`` with the server's
secret key, so only this server can make one, and one works for its conversation only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from email.utils import getaddresses

MAC_HEX = 20
_LOCAL = re.compile(r"^reply\+([a-z0-9_\-]{1,40})\.(c_[A-Za-z0-9_\-]{1,60})\.([0-9a-f]{20})$")


def _mac(secret: str, site: str, conv_id: str) -> str:
    msg = f"reply:{site}:{conv_id}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()[:MAC_HEX]


def reply_address(secret: str, site: str, conv_id: str, domain: str) -> str:
    return f"reply+{site}.{conv_id}.{_mac(secret, site, conv_id)}@{domain}"


def parse_reply_address(
    secrets: Sequence[str], recipients: Iterable[str], domain: str
) -> tuple[str, str] | None:
    """(site, conversation) of the first recipient that is a genuine reply address of
    ``domain`` signed with one of ``secrets`` (the current key, then old ones); else None."""
    for _, addr in getaddresses(list(recipients)):
        local, _, host = addr.rpartition("@")
        if host.lower() != domain.lower():
            continue
        m = _LOCAL.match(local)
        if m is None:
            continue
        site, conv_id, mac = m.groups()
        if any(hmac.compare_digest(_mac(s, site, conv_id), mac) for s in secrets if s):
            return site, conv_id
    return None


# Where the quoted history of a reply starts: "On <date>, <name> wrote:" (and the usual
# variants of Gmail, Outlook and Apple Mail, in English and Persian), a line of dashes.
_QUOTE_START = re.compile(
    r"^\s*(?:"
    r"on\b.{0,300}\bwrote:?"
    r"|-{2,}\s*original message\s*-{2,}"
    r"|_{5,}"
    r"|from:\s.+"
    r"|در تاریخ.{0,300}نوشت:?"
    r")\s*$",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """The visitor's new words: up to the quoted history, without ``>`` lines or a ``-- ``
    signature, trimmed. An empty result means the mail held nothing new."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if line.rstrip() == "--" or line == "-- ":
            break
        if line.lstrip().startswith(">"):
            continue
        if _QUOTE_START.match(line):
            break
        # "On Tue, Dec 1, 2026 at 18:00, Support <...>" wrapped over two lines.
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if re.match(r"^\s*on\b", line, re.I) and re.match(r"^.{0,200}wrote:\s*$", nxt, re.I):
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()
