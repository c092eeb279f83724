"""Signed, short-lived download URLs, each scoped to one site, conversation and file.

A URL is ``/files/<site>/<conversation>/<file id>?e=<expiry s>&s=<signature>`` (``&t=1`` for
the thumbnail); the signature is an HMAC-SHA256 of all of them with the server's secret key
(under a purpose label, so no other signed value of the server can stand in for one). Only
those who receive the conversation's frames get its URLs: its visitor and the site's agents.
Changing any part (another conversation, another file) breaks the signature, and an expired
URL is refused: clients ask for fresh ones (docs/protocol.md, "Files").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from chatserver.config import Settings

_PURPOSE = b"chatserver file link v1\n"


class Links:
    def __init__(self, secret: str, ttl_s: int, old_secrets: Sequence[str] = ()) -> None:
        self.secret = secret
        self.old = tuple(old_secrets)
        self.ttl_s = ttl_s

    @staticmethod
    def _sign(secret: str, site: str, conv: str, file_id: str, thumb: bool, exp: int) -> str:
        msg = f"{site}\n{conv}\n{file_id}\n{int(thumb)}\n{exp}".encode()
        digest = hmac.new(secret.encode(), _PURPOSE + msg, hashlib.sha256).hexdigest()
        return digest[:40]

    def expiry(self, now_ms: int) -> int:
        """The expiry (s) of URLs made now: rounded up to the minute, so a live frame and a
        replay in the same minute carry the same bytes."""
        return ((now_ms // 1000 + self.ttl_s) // 60 + 1) * 60

    def url(self, site: str, conv: str, file_id: str, exp: int, thumb: bool = False) -> str:
        sig = self._sign(self.secret, site, conv, file_id, thumb, exp)
        path = f"/files/{quote(site)}/{quote(conv)}/{quote(file_id)}?e={exp}&s={sig}"
        return path + ("&t=1" if thumb else "")

    def verify(
        self, site: str, conv: str, file_id: str, thumb: bool, exp: int, sig: str, now_ms: int
    ) -> str:
        """'' when the URL is genuine and unexpired, else why not: ``file_link_invalid`` or
        ``file_link_expired`` (only a genuine URL is told it has expired)."""
        genuine = any(
            hmac.compare_digest(self._sign(key, site, conv, file_id, thumb, exp), sig)
            for key in (self.secret, *self.old)
        )
        if not genuine:
            return "file_link_invalid"
        return "file_link_expired" if exp * 1000 <= now_ms else ""

    def describe(self, site: str, conv: str, meta: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """The ``file`` object of a message frame: the stored metadata and fresh URLs."""
        exp = self.expiry(now_ms)
        out = dict(meta)
        out["url"] = self.url(site, conv, meta["id"], exp)
        if meta.get("thumb"):
            out["thumb"] = self.url(site, conv, meta["id"], exp, thumb=True)
        out["expires"] = exp * 1000
        return out


_LINKS: dict[tuple[str, int, tuple[str, ...]], Links] = {}


def links_for(settings: Settings) -> Links:
    """The URL signer of these settings (one per secret key and lifetime)."""
    key = (settings.secret_key, settings.file_url_ttl_s, settings.old_secret_keys)
    if key not in _LINKS:
        _LINKS[key] = Links(*key)
    return _LINKS[key]
