"""Passwords, agent sessions and signed visitor tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("agent", "supervisor", "admin")

_hasher = PasswordHasher()
# A real hash to verify against when the email is unknown, so a wrong email and a wrong
# password take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """argon2id (memory-hard) with the library's recommended parameters."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return _b64(digest[:24])


def visitor_token(secret: str, site: str, visitor_id: str, now_s: int, ttl_s: int) -> str:
    """A token binding a visitor id to one site until ``now_s + ttl_s``.

    Format ``v1.<site b64>.<visitor id>.<expiry>.<signature>``; the signature covers all parts.
    """
    payload = f"v1.{_b64(site.encode())}.{visitor_id}.{now_s + ttl_s}"
    return f"{payload}.{_sign(secret, payload)}"


def verify_visitor_token(
    secret: str, token: str, site: str, now_s: int, old_secrets: Sequence[str] = ()
) -> str | None:
    """The visitor id if the token is genuine, unexpired and for ``site``; else None.

    A token signed with one of ``old_secrets`` (keys being rotated out) is genuine too; the
    welcome that answers it carries a token signed with ``secret``.
    """
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != "v1":
        return None
    payload = ".".join(parts[:4])
    signature = parts[4].encode()
    if not any(
        hmac.compare_digest(_sign(key, payload).encode(), signature)
        for key in (secret, *old_secrets)
    ):
        return None
    try:
        token_site = _unb64(parts[1]).decode()
        expiry = int(parts[3])
    except (ValueError, UnicodeDecodeError):
        return None
    if token_site != site or expiry < now_s:
        return None
    return parts[2]
