"""API keys: what a key looks like, what its scopes allow, how it is checked.

A key is ``csk_<id>_<secret>``: the id names its record (shown in lists and logs), the
secret is 32 random bytes shown once, at creation. Only the SHA-256 of the secret is stored:
a key's secret has 256 bits of entropy, so a fast hash is as safe as a slow one and costs
nothing per request. Scopes nest: ``read`` reads, ``write`` also acts (send, note, assign,
transfer, resolve, reopen, update a visitor), ``admin`` also manages the site's keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

SCOPES = ("read", "write", "admin")
PREFIX = "csk_"
_TOKEN = re.compile(r"^csk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")
_ALPHANUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    site: str
    name: str
    scope: str
    created_at: int
    created_by: str
    revoked_at: int = 0
    last_used_at: int = 0

    def allows(self, scope: str) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(scope)

    @property
    def active(self) -> bool:
        return not self.revoked_at


def new_key() -> tuple[str, str, str]:
    """(key id, the full key to show once, the digest to store)."""
    key_id = "".join(secrets.choice(_ALPHANUM) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    return key_id, f"{PREFIX}{key_id}_{secret}", digest(secret)


def parse(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    m = _TOKEN.match(token)
    return (m.group(1), m.group(2)) if m else None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)
